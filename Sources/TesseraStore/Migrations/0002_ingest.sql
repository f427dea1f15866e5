-- Tessera schema, version 2: the write path's bookkeeping and the flush.

-- Every COPY into staging is one batch with an id from this sequence.
CREATE SEQUENCE ingest_batch_seq;

-- The batches each flush moved, recorded in the flush's own transaction. A server
-- keeps every acknowledged batch until it sees it here; after a crash of the
-- database (which empties the UNLOGGED staging table) it replays exactly the
-- batches that are neither here nor still staged. Rows older than an hour are
-- pruned. (Not keyed by tenant: a batch holds several tenants' points.)
CREATE TABLE ingest_flushed_batches (
    batch_id   bigint      PRIMARY KEY,
    flushed_at timestamptz NOT NULL DEFAULT now()
);

-- Moves staged rows (all of them, or one batch's) into the time series, and
-- upserts the latest value of each hot attribute per entity into the projection.
-- The projection never goes backwards: a value replaces the stored one only if
-- its time is not older (per attribute). Upserts run in (tenant, entity) order,
-- so concurrent flushes lock rows in the same order and cannot deadlock.
CREATE FUNCTION move_staged(only_batch bigint)
RETURNS TABLE (moved_rows bigint, moved_batches bigint, projected_entities bigint)
LANGUAGE sql AS $$
    WITH moved AS (
        DELETE FROM entity_values_ingest
         WHERE only_batch IS NULL OR batch_id = only_batch
        RETURNING *
    ), stored AS (
        INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, value_int, value_decimal, value_text,
                                      value_bool, value_ts, value_json, ts, ingested_at)
        SELECT tenant_id, entity_id, attribute_id, value_int, value_decimal, value_text,
               value_bool, value_ts, value_json, ts, ingested_at
          FROM moved
         ORDER BY tenant_id, attribute_id, ts
    ), flushed AS (
        INSERT INTO ingest_flushed_batches (batch_id)
        SELECT DISTINCT batch_id FROM moved
        ON CONFLICT (batch_id) DO NOTHING
        RETURNING 1
    ), latest AS (
        SELECT DISTINCT ON (m.tenant_id, m.entity_id, m.attribute_id)
               m.tenant_id, m.entity_id, a.name,
               (extract(epoch FROM m.ts) * 1000000)::bigint AS ts_us,
               CASE WHEN m.value_int IS NOT NULL THEN to_jsonb(m.value_int)
                    WHEN m.value_decimal IS NOT NULL THEN to_jsonb(m.value_decimal)
                    WHEN m.value_text IS NOT NULL THEN to_jsonb(m.value_text)
                    WHEN m.value_bool IS NOT NULL THEN to_jsonb(m.value_bool)
                    WHEN m.value_ts IS NOT NULL THEN to_jsonb(m.value_ts)
                    ELSE m.value_json END AS value
          FROM moved AS m
          JOIN attributes AS a ON a.tenant_id = m.tenant_id AND a.attribute_id = m.attribute_id AND a.hot
         ORDER BY m.tenant_id, m.entity_id, m.attribute_id, m.ts DESC
    ), per_entity AS (
        SELECT tenant_id, entity_id, jsonb_object_agg(name, value) AS attrs, jsonb_object_agg(name, ts_us) AS attr_ts
          FROM latest
         GROUP BY tenant_id, entity_id
    ), projected AS (
        INSERT INTO entity_jsonb AS p (tenant_id, entity_id, attrs, attr_ts)
        SELECT tenant_id, entity_id, attrs, attr_ts FROM per_entity ORDER BY tenant_id, entity_id
        ON CONFLICT (tenant_id, entity_id) DO UPDATE
           SET attrs = p.attrs || coalesce((
                   SELECT jsonb_object_agg(n.key, EXCLUDED.attrs -> n.key)
                     FROM jsonb_each_text(EXCLUDED.attr_ts) AS n
                    WHERE coalesce((p.attr_ts ->> n.key)::bigint, -9223372036854775808) <= n.value::bigint), '{}'),
               attr_ts = p.attr_ts || coalesce((
                   SELECT jsonb_object_agg(n.key, n.value::bigint)
                     FROM jsonb_each_text(EXCLUDED.attr_ts) AS n
                    WHERE coalesce((p.attr_ts ->> n.key)::bigint, -9223372036854775808) <= n.value::bigint), '{}'),
               updated_at = now()
         WHERE EXISTS (
                   SELECT 1 FROM jsonb_each_text(EXCLUDED.attr_ts) AS n
                    WHERE coalesce((p.attr_ts ->> n.key)::bigint, -9223372036854775808) <= n.value::bigint)
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM flushed), (SELECT count(*) FROM projected)
$$;

-- The 100 ms flush: everything staged, at most one at a time across all servers
-- (a second caller returns -1 at once instead of waiting).
CREATE FUNCTION stage_flush()
RETURNS TABLE (moved_rows bigint, moved_batches bigint, projected_entities bigint)
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock(7346812002) THEN
        RETURN QUERY SELECT -1::bigint, 0::bigint, 0::bigint;
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM move_staged(NULL);
END
$$;
