-- Tessera schema, version 6: a deleted entity's staged points go with it (and
-- timestamp values in the projection are written in UTC with "Z", see below).
--
-- Deleting an entity removes its projection row and its points in one transaction,
-- but points of it still in staging (acknowledged up to a flush interval earlier)
-- were moved by the next flush anyway: stored for a deleted entity and, worse, a
-- projection row written again that a later write reviving the entity would serve,
-- old values included. And a server whose id cache still held an entity another
-- server deleted staged new points under the deleted id: acknowledged, stored, never
-- readable.
--
-- A delete now records its time in entities.deleted_at, which bringing the entity
-- back does not clear (a write may revive it before the next flush). The flush looks
-- up, among the entities it moves points for, those ever deleted: a point staged
-- (ingested_at, the staging COPY's time) before the last delete is dropped; one
-- staged after it brings a still-deleted entity back, as a write through the
-- resolver does. A partial index keeps the lookup to entities ever deleted.
--
-- A delete and a flush running at the same time would still race (the flush's
-- snapshot from before the delete, its commit after it), so they exclude each other
-- through advisory lock 7346812003: a flush or a safe write holds it shared for its
-- transaction, a delete holds it exclusively for its own (Catalog.deleteEntity),
-- waiting for the flushes under way and holding off new ones until it commits
-- (the keys are FlushLock's, in TesseraStore).
ALTER TABLE entities ADD COLUMN deleted_at timestamptz;
UPDATE entities SET deleted_at = updated_at WHERE is_deleted;
CREATE INDEX entities_deleted ON entities (tenant_id, entity_id) WHERE deleted_at IS NOT NULL;

-- Also: a timestamp value in the projection is written as the series writes it (UTC,
-- six fraction digits, "Z"), not as to_jsonb(timestamptz) did (the session's offset,
-- "+00:00"), so one value reads the same in a lookup and in its series. Values already
-- in the projection are rewritten.
UPDATE entity_jsonb AS j
   SET attrs = j.attrs || (
           SELECT jsonb_object_agg(a.name, to_jsonb(to_char((j.attrs ->> a.name)::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')))
             FROM attributes AS a
            WHERE a.tenant_id = j.tenant_id AND a.hot AND a.value_type = 'timestamp' AND jsonb_typeof(j.attrs -> a.name) = 'string')
 WHERE EXISTS (SELECT 1 FROM attributes AS a
                WHERE a.tenant_id = j.tenant_id AND a.hot AND a.value_type = 'timestamp' AND jsonb_typeof(j.attrs -> a.name) = 'string');

CREATE OR REPLACE FUNCTION move_staged(only_batch bigint)
RETURNS TABLE (moved_rows bigint, moved_batches bigint, projected_entities bigint,
               moved_tenants bigint[], projected_tenant_ids bigint[], projected_entity_ids bigint[],
               projected_versions bigint[], flushed_at_us bigint)
LANGUAGE sql AS $$
    WITH moved AS (
        DELETE FROM entity_values_ingest
         WHERE only_batch IS NULL OR batch_id = only_batch
        RETURNING *
    ), deleted AS (
        -- Entities deleted while points of theirs sat in staging, or written by a server
        -- whose cache still had the id of an entity another server deleted.
        SELECT e.tenant_id, e.entity_id, e.deleted_at, e.is_deleted
          FROM entities AS e
         WHERE e.deleted_at IS NOT NULL
           AND (e.tenant_id, e.entity_id) IN (SELECT tenant_id, entity_id FROM moved)
    ), kept AS (
        -- A point staged before its entity was deleted went with it: it is not stored.
        SELECT m.* FROM moved AS m
         WHERE NOT EXISTS (SELECT 1 FROM deleted AS d
                            WHERE d.tenant_id = m.tenant_id AND d.entity_id = m.entity_id AND m.ingested_at <= d.deleted_at)
    ), revived AS (
        -- A point staged after the delete brings the entity back, as a write through the
        -- resolver does, with only what came after the delete.
        UPDATE entities AS e SET is_deleted = false, version = e.version + 1, updated_at = clock_timestamp()
          FROM deleted AS d
         WHERE d.is_deleted AND e.tenant_id = d.tenant_id AND e.entity_id = d.entity_id
           AND EXISTS (SELECT 1 FROM kept AS k WHERE k.tenant_id = d.tenant_id AND k.entity_id = d.entity_id)
        RETURNING 1
    ), stored AS (
        INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, value_int, value_decimal, value_text,
                                      value_bool, value_ts, value_json, ts, ingested_at)
        SELECT tenant_id, entity_id, attribute_id, value_int, value_decimal, value_text,
               value_bool, value_ts, value_json, ts, ingested_at
          FROM kept
         ORDER BY tenant_id, attribute_id, ts
    ), flushed AS (
        INSERT INTO ingest_flushed_batches (batch_id)
        SELECT DISTINCT batch_id FROM moved
        ON CONFLICT (batch_id) DO NOTHING
        RETURNING 1
    ), latest AS (
        SELECT DISTINCT ON (m.tenant_id, m.entity_id, m.attribute_id)
               m.tenant_id, m.entity_id, m.attribute_id, a.name, a.value_type,
               (extract(epoch FROM m.ts) * 1000000)::bigint AS ts_us,
               CASE WHEN m.value_int IS NOT NULL THEN to_jsonb(m.value_int)
                    WHEN m.value_decimal IS NOT NULL THEN to_jsonb(m.value_decimal)
                    WHEN m.value_text IS NOT NULL THEN to_jsonb(m.value_text)
                    WHEN m.value_bool IS NOT NULL THEN to_jsonb(m.value_bool)
                    WHEN m.value_ts IS NOT NULL THEN to_jsonb(to_char(m.value_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
                    ELSE m.value_json END AS value
          FROM kept AS m
          JOIN attributes AS a ON a.tenant_id = m.tenant_id AND a.attribute_id = m.attribute_id AND a.hot
         ORDER BY m.tenant_id, m.entity_id, m.attribute_id, m.ts DESC
    ), per_entity AS (
        SELECT tenant_id, entity_id, jsonb_object_agg(name, value) AS attrs, jsonb_object_agg(name, ts_us) AS attr_ts
          FROM latest
         GROUP BY tenant_id, entity_id
    ), projected AS (
        INSERT INTO entity_jsonb AS p (tenant_id, entity_id, attrs, attr_ts, updated_at)
        SELECT tenant_id, entity_id, attrs, attr_ts, clock_timestamp() FROM per_entity ORDER BY tenant_id, entity_id
        ON CONFLICT (tenant_id, entity_id) DO UPDATE
           SET attrs = p.attrs || coalesce((
                   SELECT jsonb_object_agg(n.key, EXCLUDED.attrs -> n.key)
                     FROM jsonb_each_text(EXCLUDED.attr_ts) AS n
                    WHERE coalesce((p.attr_ts ->> n.key)::bigint, -9223372036854775808) <= n.value::bigint), '{}'),
               attr_ts = p.attr_ts || coalesce((
                   SELECT jsonb_object_agg(n.key, n.value::bigint)
                     FROM jsonb_each_text(EXCLUDED.attr_ts) AS n
                    WHERE coalesce((p.attr_ts ->> n.key)::bigint, -9223372036854775808) <= n.value::bigint), '{}'),
               updated_at = clock_timestamp()
         WHERE EXISTS (
                   SELECT 1 FROM jsonb_each_text(EXCLUDED.attr_ts) AS n
                    WHERE coalesce((p.attr_ts ->> n.key)::bigint, -9223372036854775808) <= n.value::bigint)
        RETURNING p.tenant_id, p.entity_id, (extract(epoch FROM p.updated_at) * 1000000)::bigint AS version
    ), numbers AS (
        INSERT INTO entity_latest_numbers AS n (tenant_id, entity_id, attribute_id, value, ts_us)
        SELECT tenant_id, entity_id, attribute_id, value::numeric, ts_us
          FROM latest
         WHERE value_type IN ('int', 'decimal') AND jsonb_typeof(value) = 'number'
         ORDER BY tenant_id, entity_id, attribute_id
        ON CONFLICT (tenant_id, entity_id, attribute_id) DO UPDATE
           SET value = EXCLUDED.value, ts_us = EXCLUDED.ts_us
         WHERE n.ts_us <= EXCLUDED.ts_us
        RETURNING 1
    ), hourly AS (
        -- Typed aggregates (bigint sums are exact, doubles stay doubles) and the
        -- first and last value from one window pass: per-group ordered aggregates and
        -- a numeric cast of every point made this step ~3× slower.
        SELECT tenant_id, attribute_id, hour, count(*) AS n,
               coalesce(sum(value_int)::numeric, sum(value_decimal)::text::numeric) AS s,
               coalesce(min(value_int)::numeric, min(value_decimal)::text::numeric) AS mn,
               coalesce(max(value_int)::numeric, max(value_decimal)::text::numeric) AS mx,
               min(ts) AS fts, coalesce(min(first_int)::numeric, min(first_decimal)::text::numeric) AS fv,
               max(ts) AS lts, coalesce(min(last_int)::numeric, min(last_decimal)::text::numeric) AS lv
          FROM (SELECT tenant_id, attribute_id, date_bin('1 hour', ts, timestamptz '1970-01-01 00:00:00+00') AS hour,
                       ts, value_int, value_decimal,
                       first_value(value_int) OVER w AS first_int, first_value(value_decimal) OVER w AS first_decimal,
                       last_value(value_int) OVER w AS last_int, last_value(value_decimal) OVER w AS last_decimal
                  FROM kept
                 WHERE value_int IS NOT NULL OR value_decimal IS NOT NULL
                WINDOW w AS (PARTITION BY tenant_id, attribute_id, date_bin('1 hour', ts, timestamptz '1970-01-01 00:00:00+00')
                             ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) AS numeric_points
         GROUP BY 1, 2, 3
    ), rolled AS (
        INSERT INTO entity_values_hourly AS r
               (tenant_id, attribute_id, hour, count, sum, min, max, first_ts, first_value, last_ts, last_value)
        SELECT tenant_id, attribute_id, hour, n, s, mn, mx, fts, fv, lts, lv FROM hourly ORDER BY 1, 2, 3
        ON CONFLICT (tenant_id, attribute_id, hour) DO UPDATE
           SET count = r.count + EXCLUDED.count,
               sum = r.sum + EXCLUDED.sum,
               min = least(r.min, EXCLUDED.min),
               max = greatest(r.max, EXCLUDED.max),
               first_value = CASE WHEN EXCLUDED.first_ts < r.first_ts THEN EXCLUDED.first_value ELSE r.first_value END,
               first_ts = least(r.first_ts, EXCLUDED.first_ts),
               last_value = CASE WHEN EXCLUDED.last_ts >= r.last_ts THEN EXCLUDED.last_value ELSE r.last_value END,
               last_ts = greatest(r.last_ts, EXCLUDED.last_ts)
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM flushed), (SELECT count(*) FROM projected),
           coalesce((SELECT array_agg(DISTINCT tenant_id) FROM moved), '{}'),
           coalesce((SELECT array_agg(tenant_id ORDER BY tenant_id, entity_id) FROM projected), '{}'),
           coalesce((SELECT array_agg(entity_id ORDER BY tenant_id, entity_id) FROM projected), '{}'),
           coalesce((SELECT array_agg(version ORDER BY tenant_id, entity_id) FROM projected), '{}'),
           (extract(epoch FROM clock_timestamp()) * 1000000)::bigint
$$;

CREATE OR REPLACE FUNCTION stage_flush()
RETURNS TABLE (moved_rows bigint, moved_batches bigint, projected_entities bigint,
               moved_tenants bigint[], projected_tenant_ids bigint[], projected_entity_ids bigint[],
               projected_versions bigint[], flushed_at_us bigint)
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock(7346812002) THEN
        RETURN QUERY SELECT -1::bigint, 0::bigint, 0::bigint, '{}'::bigint[], '{}'::bigint[], '{}'::bigint[], '{}'::bigint[],
                            (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
        RETURN;
    END IF;
    -- Not while an entity is being deleted; the move below sees the delete committed.
    PERFORM pg_advisory_xact_lock_shared(7346812003);
    RETURN QUERY SELECT * FROM move_staged(NULL);
END
$$;
