-- Archival of cold months (README: Data lifecycle and backups, "Archival of cold months").
-- `tessera archive export MONTH` copies a month's partition of entity_values_ts to a compressed
-- file with a manifest, records the month here and drops the partition; `tessera archive
-- restore MONTH` puts the same rows back and removes the row. From the moment an export starts
-- (state 'archiving') until the restore: ingest refuses the month's points, ensure_ts_partitions
-- does not make its partition again (a point staged by a server that did not know yet fails its
-- flush and goes to the quarantine, not into an empty partition), and a read that reaches the
-- month is answered 410 `archived`. The hourly rollups of the month stay: aggregates of whole
-- hours still answer from them.
CREATE TABLE archived_months (
    month          date        PRIMARY KEY CHECK (month = date_trunc('month', month)::date),
    state          text        NOT NULL CHECK (state IN ('archiving', 'archived')),
    location       text,       -- the archive file
    row_count      bigint,
    checksum       text,       -- archived_month_checksum() of the partition when it was exported
    file_sha256    text,
    file_bytes     bigint,
    schema_version integer,    -- the migration the rows were exported at
    started_at     timestamptz NOT NULL DEFAULT now(),
    archived_at    timestamptz
);
GRANT SELECT ON archived_months TO tessera_app;

-- Rows and an order-independent checksum of a partition's rows (the sum of the 64-bit hash of
-- each row's text): what an export records and a restore must find again, row for row.
CREATE FUNCTION partition_checksum(partition_name text)
RETURNS TABLE (row_count bigint, checksum text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF partition_name !~ '^entity_values_ts_p[0-9]{6}$' THEN
        RAISE EXCEPTION 'not a partition of entity_values_ts: %', partition_name USING ERRCODE = '22023';
    END IF;
    RETURN QUERY EXECUTE format(
        'SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)::numeric), 0)::text FROM %I AS t', partition_name);
END
$$;
REVOKE ALL ON FUNCTION partition_checksum(text) FROM PUBLIC;

-- ensure_ts_partitions as in 0008, but an archived month's partition is not made again.
CREATE OR REPLACE FUNCTION ensure_ts_partitions(first_month date, month_count integer)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    month_start date;
    partition_name text;
    made integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(7346812001);
    FOR i IN 0 .. month_count - 1 LOOP
        month_start := (date_trunc('month', first_month) + make_interval(months => i))::date;
        partition_name := 'entity_values_ts_p' || to_char(month_start, 'YYYYMM');
        IF to_regclass(partition_name) IS NULL
           AND NOT EXISTS (SELECT 1 FROM archived_months AS a WHERE a.month = month_start) THEN
            EXECUTE format('CREATE TABLE %I (LIKE entity_values_ts INCLUDING ALL EXCLUDING INDEXES)', partition_name);
            EXECUTE format(
                'ALTER TABLE entity_values_ts ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                partition_name,
                month_start::timestamp AT TIME ZONE 'UTC',
                (month_start + interval '1 month')::timestamp AT TIME ZONE 'UTC'
            );
            made := made + 1;
        END IF;
    END LOOP;
    RETURN made;
END
$$;
