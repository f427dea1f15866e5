-- Staging without COPY FROM STDIN. PostgresNIO 1.33 traps when a connection is lost while a COPY's
-- data is being sent (its state machine has no way out of copy mode on a connection error), so a
-- database killed in the middle of a staging COPY took the Tessera server down with it. The server
-- now sends a batch's rows as one parameter, an array of this type, to an ordinary INSERT, which
-- fails with an error when its connection goes (StagedPoints.swift, StagingSQL.insertStaged).
--
-- The fields are the COPY text's, unescaped, in StagingEncoder's column order with the staging
-- time last (set only when the quarantine stages a request again); the INSERT casts each with its
-- column type's input function, as COPY does, so a value is refused exactly when COPY refused it.
CREATE TYPE staged_point AS (
    tenant_id     text,
    entity_id     text,
    attribute_id  text,
    value_int     text,
    value_decimal text,
    value_text    text,
    value_bool    text,
    value_ts      text,
    value_json    text,
    ts            text,
    batch_id      text,
    ingested_at   text
);
