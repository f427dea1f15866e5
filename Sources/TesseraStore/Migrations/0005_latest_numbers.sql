-- Tessera schema, version 5: an index for range conditions in entity filters.
--
-- A filter like {"attribute": "temp", "op": ">", "value": 20} read every
-- projection row of the tenant (the GIN index on entity_jsonb answers containment,
-- not ranges): ~600 ms p95 on the benchmark's 400k-entity tenant. This table keeps,
-- beside the projection and in the same flush, the latest value of each hot int or
-- decimal attribute as a number, with a btree on (tenant, attribute, value): a
-- range condition reads only the entities it matches.
--
-- value is the projection's JSON number cast to numeric, so a comparison here
-- agrees with the same comparison on entity_jsonb.attrs (a double's shortest text,
-- not its 15-digit numeric cast). ts_us is the guard the projection uses: an older
-- point never overwrites a newer one.
--
-- The flush is redefined for it, and its hourly rollup step is cheaper: typed
-- aggregates instead of a numeric cast of every point, and the first and last
-- values of each hour from one window pass instead of ordered aggregates. A
-- double's rollup values are its exact shortest text as numeric, as the points
-- read back, where a double cast to numeric kept 15 digits.
CREATE TABLE entity_latest_numbers (
    tenant_id    bigint  NOT NULL,
    entity_id    bigint  NOT NULL,
    attribute_id integer NOT NULL,
    value        numeric NOT NULL,
    ts_us        bigint  NOT NULL,
    PRIMARY KEY (tenant_id, entity_id, attribute_id)
);
CREATE INDEX entity_latest_numbers_value ON entity_latest_numbers (tenant_id, attribute_id, value, entity_id);
-- Range filters read this index alone (index-only scans) where the visibility map
-- says a page is all-visible; the flush keeps updating rows, so vacuum it often.
ALTER TABLE entity_latest_numbers SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01);

INSERT INTO entity_latest_numbers (tenant_id, entity_id, attribute_id, value, ts_us)
SELECT j.tenant_id, j.entity_id, a.attribute_id, (j.attrs -> a.name)::numeric, coalesce((j.attr_ts ->> a.name)::bigint, 0)
  FROM entity_jsonb AS j
  JOIN attributes AS a ON a.tenant_id = j.tenant_id AND a.hot AND a.value_type IN ('int', 'decimal')
 WHERE jsonb_typeof(j.attrs -> a.name) = 'number';

-- The same typed rollup when an hour is recomputed after points were deleted.
CREATE OR REPLACE FUNCTION refresh_hourly(tenant bigint, attribute_ids integer[], hours timestamptz[])
RETURNS void
LANGUAGE sql AS $$
    DELETE FROM entity_values_hourly AS r
     USING unnest(attribute_ids, hours) AS k(attribute_id, hour)
     WHERE r.tenant_id = tenant AND r.attribute_id = k.attribute_id AND r.hour = k.hour;
    INSERT INTO entity_values_hourly (tenant_id, attribute_id, hour, count, sum, min, max, first_ts, first_value, last_ts, last_value)
    SELECT tenant, attribute_id, hour, count(*),
           coalesce(sum(value_int)::numeric, sum(value_decimal)::text::numeric),
           coalesce(min(value_int)::numeric, min(value_decimal)::text::numeric),
           coalesce(max(value_int)::numeric, max(value_decimal)::text::numeric),
           min(ts), coalesce(min(first_int)::numeric, min(first_decimal)::text::numeric),
           max(ts), coalesce(min(last_int)::numeric, min(last_decimal)::text::numeric)
      FROM (SELECT k.attribute_id, k.hour, t.ts, t.value_int, t.value_decimal,
                   first_value(t.value_int) OVER w AS first_int, first_value(t.value_decimal) OVER w AS first_decimal,
                   last_value(t.value_int) OVER w AS last_int, last_value(t.value_decimal) OVER w AS last_decimal
              FROM unnest(attribute_ids, hours) AS k(attribute_id, hour)
              JOIN entity_values_ts AS t
                ON t.tenant_id = tenant AND t.attribute_id = k.attribute_id
               AND t.ts >= k.hour AND t.ts < k.hour + interval '1 hour'
               AND (t.value_int IS NOT NULL OR t.value_decimal IS NOT NULL)
            WINDOW w AS (PARTITION BY k.attribute_id, k.hour ORDER BY t.ts ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) AS points
     GROUP BY attribute_id, hour;
$$;

DROP FUNCTION stage_flush();
DROP FUNCTION move_staged(bigint);

CREATE FUNCTION move_staged(only_batch bigint)
RETURNS TABLE (moved_rows bigint, moved_batches bigint, projected_entities bigint,
               moved_tenants bigint[], projected_tenant_ids bigint[], projected_entity_ids bigint[],
               projected_versions bigint[], flushed_at_us bigint)
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
               m.tenant_id, m.entity_id, m.attribute_id, a.name, a.value_type,
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
                  FROM moved
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

-- The 100 ms flush: everything staged, at most one at a time across all servers
-- (a second caller gets moved_rows = -1 at once instead of waiting).
CREATE FUNCTION stage_flush()
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
    RETURN QUERY SELECT * FROM move_staged(NULL);
END
$$;
