-- The move of a flush: deletes the staged rows (all, or one batch and/or tenant, or only the batches listed in
-- only_batches), drops points staged before their entity's delete (reviving entities written after it) or an erasure
-- of their range (series_erasures), upserts the last write of each point into entity_values_ts,
-- records ingest_flushed_batches, updates entity_jsonb, entity_hot_numbers and the hourly rollups (every numeric point
-- stored counts into its hour; the hours of points the upsert replaced are then recomputed by the trigger
-- rollups_follow_replaced_points()). Returns the change columns for the cache.
-- Called by flush_staged() and stage_flush_part() (a part's batches); no Swift calls it. Locks: no advisory lock of its own (see stage_flush()).
-- Last defined in 0036_number_rows_read_by_slot_name.sql (number rows without a sort; 0035 before, also 0002, 0004,
-- 0005, 0006, 0009, 0010, 0017, 0029, 0030, 0034).
CREATE OR REPLACE FUNCTION public.move_staged(only_batch bigint, only_tenant bigint, only_batches bigint[])
 RETURNS TABLE(moved_rows bigint, moved_batches bigint, projected_entities bigint, moved_tenants bigint[], projected_tenant_ids bigint[], projected_entity_ids bigint[], projected_versions bigint[], flushed_at_us bigint)
 LANGUAGE sql
AS $function$
    WITH moved AS (
        DELETE FROM entity_values_ingest
         WHERE (only_batch IS NULL OR batch_id = only_batch)
           AND (only_tenant IS NULL OR tenant_id = only_tenant)
           AND (only_batches IS NULL OR batch_id IN (SELECT unnest(only_batches)))
        RETURNING *
    ), deleted AS (
        SELECT e.tenant_id, e.entity_id, e.deleted_at, e.is_deleted
          FROM entities AS e
         WHERE e.deleted_at IS NOT NULL
           AND (e.tenant_id, e.entity_id) IN (SELECT tenant_id, entity_id FROM moved)
    ), kept AS (
        -- One row a point: the last write of it (staging time, then batch id).
        SELECT DISTINCT ON (m.tenant_id, m.entity_id, m.attribute_id, m.ts) m.*
          FROM moved AS m
         WHERE NOT EXISTS (SELECT 1 FROM deleted AS d
                            WHERE d.tenant_id = m.tenant_id AND d.entity_id = m.entity_id AND m.ingested_at <= d.deleted_at)
           AND NOT EXISTS (SELECT 1 FROM series_erasures AS x
                            WHERE x.tenant_id = m.tenant_id AND x.entity_id = m.entity_id AND x.attribute_id = m.attribute_id
                              AND m.ts >= x.from_ts AND m.ts < x.to_ts AND m.ingested_at <= x.erased_at)
         ORDER BY m.tenant_id, m.entity_id, m.attribute_id, m.ts, m.ingested_at DESC, m.batch_id DESC
    ), revived AS (
        UPDATE entities AS e SET is_deleted = false, version = e.version + 1, updated_at = clock_timestamp()
          FROM deleted AS d
         WHERE d.is_deleted AND e.tenant_id = d.tenant_id AND e.entity_id = d.entity_id
           AND EXISTS (SELECT 1 FROM kept AS k WHERE k.tenant_id = d.tenant_id AND k.entity_id = d.entity_id)
        RETURNING 1
    ), stored AS (
        INSERT INTO entity_values_ts AS t (tenant_id, entity_id, attribute_id, value_int, value_decimal, value_text,
                                           value_bool, value_ts, value_json, ts, ingested_at)
        SELECT tenant_id, entity_id, attribute_id, value_int, value_decimal, value_text,
               value_bool, value_ts, value_json, ts, ingested_at
          FROM kept
         ORDER BY tenant_id, entity_id, attribute_id, ts
        ON CONFLICT (tenant_id, entity_id, attribute_id, ts) DO UPDATE
           SET value_int = EXCLUDED.value_int, value_decimal = EXCLUDED.value_decimal, value_text = EXCLUDED.value_text,
               value_bool = EXCLUDED.value_bool, value_ts = EXCLUDED.value_ts, value_json = EXCLUDED.value_json,
               ingested_at = EXCLUDED.ingested_at
        RETURNING 1
    ), flushed AS (
        INSERT INTO ingest_flushed_batches (batch_id)
        SELECT DISTINCT batch_id FROM moved
        ON CONFLICT (batch_id) DO NOTHING
        RETURNING 1
    ), latest AS (
        -- The newest point of each hot series, its JSON value made after the sort picked it.
        SELECT m.tenant_id, m.entity_id, m.attribute_id, m.name, m.value_type,
               (extract(epoch FROM m.ts) * 1000000)::bigint AS ts_us,
               CASE WHEN m.value_int IS NOT NULL THEN to_jsonb(m.value_int)
                    WHEN m.value_decimal IS NOT NULL THEN to_jsonb(m.value_decimal)
                    WHEN m.value_text IS NOT NULL THEN to_jsonb(m.value_text)
                    WHEN m.value_bool IS NOT NULL THEN to_jsonb(m.value_bool)
                    WHEN m.value_ts IS NOT NULL THEN to_jsonb(to_char(m.value_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
                    ELSE m.value_json END AS value
          FROM (SELECT DISTINCT ON (k.tenant_id, k.entity_id, k.attribute_id)
                       k.tenant_id, k.entity_id, k.attribute_id, k.ts, k.value_int, k.value_decimal, k.value_text,
                       k.value_bool, k.value_ts, k.value_json, a.name, a.value_type
                  FROM kept AS k
                  JOIN attributes AS a ON a.tenant_id = k.tenant_id AND a.attribute_id = k.attribute_id AND a.hot
                 ORDER BY k.tenant_id, k.entity_id, k.attribute_id, k.ts DESC) AS m
    ), per_entity AS (
        SELECT tenant_id, entity_id, jsonb_object_agg(name, value) AS attrs, jsonb_object_agg(name, ts_us) AS attr_ts
          FROM latest
         GROUP BY tenant_id, entity_id
    ), projected AS (
        INSERT INTO entity_jsonb AS p (tenant_id, entity_id, attrs, attr_ts, updated_at)
        SELECT tenant_id, entity_id, attrs, attr_ts, clock_timestamp() FROM per_entity ORDER BY tenant_id, entity_id
        ON CONFLICT (tenant_id, entity_id) DO UPDATE
           SET (attrs, attr_ts, updated_at) = (
                   SELECT p.attrs || coalesce(jsonb_object_agg(n.key, EXCLUDED.attrs -> n.key), '{}'),
                          p.attr_ts || coalesce(jsonb_object_agg(n.key, n.value::bigint), '{}'),
                          clock_timestamp()
                     FROM jsonb_each_text(EXCLUDED.attr_ts) AS n
                    WHERE coalesce((p.attr_ts ->> n.key)::bigint, -9223372036854775808) <= n.value::bigint)
         WHERE EXISTS (
                   SELECT 1 FROM jsonb_each_text(EXCLUDED.attr_ts) AS n
                    WHERE coalesce((p.attr_ts ->> n.key)::bigint, -9223372036854775808) <= n.value::bigint)
        RETURNING p.tenant_id, p.entity_id, (extract(epoch FROM p.updated_at) * 1000000)::bigint AS version, p.attrs
    ), slot_names AS (
        -- Each projected tenant's slotted attributes, the name of slot i at position i + 1.
        SELECT a.tenant_id, ARRAY[
                      max(a.name) FILTER (WHERE a.number_slot = 0),
                      max(a.name) FILTER (WHERE a.number_slot = 1),
                      max(a.name) FILTER (WHERE a.number_slot = 2),
                      max(a.name) FILTER (WHERE a.number_slot = 3),
                      max(a.name) FILTER (WHERE a.number_slot = 4),
                      max(a.name) FILTER (WHERE a.number_slot = 5),
                      max(a.name) FILTER (WHERE a.number_slot = 6),
                      max(a.name) FILTER (WHERE a.number_slot = 7),
                      max(a.name) FILTER (WHERE a.number_slot = 8),
                      max(a.name) FILTER (WHERE a.number_slot = 9),
                      max(a.name) FILTER (WHERE a.number_slot = 10),
                      max(a.name) FILTER (WHERE a.number_slot = 11),
                      max(a.name) FILTER (WHERE a.number_slot = 12),
                      max(a.name) FILTER (WHERE a.number_slot = 13),
                      max(a.name) FILTER (WHERE a.number_slot = 14),
                      max(a.name) FILTER (WHERE a.number_slot = 15)] AS names
          FROM attributes AS a
         WHERE a.number_slot IS NOT NULL AND a.tenant_id IN (SELECT DISTINCT tenant_id FROM projected)
         GROUP BY a.tenant_id
    ), slotted AS (
        SELECT pr.tenant_id, pr.entity_id,
               CASE WHEN jsonb_typeof(pr.attrs -> s.names[1]) = 'number' THEN (pr.attrs -> s.names[1])::double precision END AS n0,
               CASE WHEN jsonb_typeof(pr.attrs -> s.names[2]) = 'number' THEN (pr.attrs -> s.names[2])::double precision END AS n1,
               CASE WHEN jsonb_typeof(pr.attrs -> s.names[3]) = 'number' THEN (pr.attrs -> s.names[3])::double precision END AS n2,
               CASE WHEN jsonb_typeof(pr.attrs -> s.names[4]) = 'number' THEN (pr.attrs -> s.names[4])::double precision END AS n3,
               CASE WHEN jsonb_typeof(pr.attrs -> s.names[5]) = 'number' THEN (pr.attrs -> s.names[5])::double precision END AS n4,
               CASE WHEN jsonb_typeof(pr.attrs -> s.names[6]) = 'number' THEN (pr.attrs -> s.names[6])::double precision END AS n5,
               CASE WHEN jsonb_typeof(pr.attrs -> s.names[7]) = 'number' THEN (pr.attrs -> s.names[7])::double precision END AS n6,
               CASE WHEN jsonb_typeof(pr.attrs -> s.names[8]) = 'number' THEN (pr.attrs -> s.names[8])::double precision END AS n7,
               CASE WHEN jsonb_typeof(pr.attrs -> s.names[9]) = 'number' THEN (pr.attrs -> s.names[9])::double precision END AS n8,
               CASE WHEN jsonb_typeof(pr.attrs -> s.names[10]) = 'number' THEN (pr.attrs -> s.names[10])::double precision END AS n9,
               CASE WHEN jsonb_typeof(pr.attrs -> s.names[11]) = 'number' THEN (pr.attrs -> s.names[11])::double precision END AS n10,
               CASE WHEN jsonb_typeof(pr.attrs -> s.names[12]) = 'number' THEN (pr.attrs -> s.names[12])::double precision END AS n11,
               CASE WHEN jsonb_typeof(pr.attrs -> s.names[13]) = 'number' THEN (pr.attrs -> s.names[13])::double precision END AS n12,
               CASE WHEN jsonb_typeof(pr.attrs -> s.names[14]) = 'number' THEN (pr.attrs -> s.names[14])::double precision END AS n13,
               CASE WHEN jsonb_typeof(pr.attrs -> s.names[15]) = 'number' THEN (pr.attrs -> s.names[15])::double precision END AS n14,
               CASE WHEN jsonb_typeof(pr.attrs -> s.names[16]) = 'number' THEN (pr.attrs -> s.names[16])::double precision END AS n15
          FROM projected AS pr
          JOIN slot_names AS s ON s.tenant_id = pr.tenant_id
    ), hot_numbers AS (
        INSERT INTO entity_hot_numbers AS h (tenant_id, entity_id, n0, n1, n2, n3, n4, n5, n6, n7, n8, n9, n10, n11, n12, n13, n14, n15)
        SELECT tenant_id, entity_id, n0, n1, n2, n3, n4, n5, n6, n7, n8, n9, n10, n11, n12, n13, n14, n15
          FROM slotted
         WHERE n0 IS NOT NULL OR n1 IS NOT NULL OR n2 IS NOT NULL OR n3 IS NOT NULL OR n4 IS NOT NULL OR n5 IS NOT NULL OR n6 IS NOT NULL OR n7 IS NOT NULL OR n8 IS NOT NULL OR n9 IS NOT NULL OR n10 IS NOT NULL OR n11 IS NOT NULL OR n12 IS NOT NULL OR n13 IS NOT NULL OR n14 IS NOT NULL OR n15 IS NOT NULL
         ORDER BY tenant_id, entity_id
        ON CONFLICT (tenant_id, entity_id) DO UPDATE
           SET n0 = EXCLUDED.n0, n1 = EXCLUDED.n1, n2 = EXCLUDED.n2, n3 = EXCLUDED.n3,
               n4 = EXCLUDED.n4, n5 = EXCLUDED.n5, n6 = EXCLUDED.n6, n7 = EXCLUDED.n7,
               n8 = EXCLUDED.n8, n9 = EXCLUDED.n9, n10 = EXCLUDED.n10, n11 = EXCLUDED.n11,
               n12 = EXCLUDED.n12, n13 = EXCLUDED.n13, n14 = EXCLUDED.n14, n15 = EXCLUDED.n15
         WHERE (h.n0, h.n1, h.n2, h.n3, h.n4, h.n5, h.n6, h.n7, h.n8, h.n9, h.n10, h.n11, h.n12, h.n13, h.n14, h.n15)
               IS DISTINCT FROM (EXCLUDED.n0, EXCLUDED.n1, EXCLUDED.n2, EXCLUDED.n3, EXCLUDED.n4, EXCLUDED.n5, EXCLUDED.n6, EXCLUDED.n7, EXCLUDED.n8, EXCLUDED.n9, EXCLUDED.n10, EXCLUDED.n11, EXCLUDED.n12, EXCLUDED.n13, EXCLUDED.n14, EXCLUDED.n15)
        RETURNING 1
    ), numeric_points AS (
        SELECT k.tenant_id, k.attribute_id, date_bin('1 hour', k.ts, timestamptz '1970-01-01 00:00:00+00') AS hour,
               k.ts, k.value_int, k.value_decimal
          FROM kept AS k
         WHERE k.value_int IS NOT NULL OR k.value_decimal IS NOT NULL
    ), hourly AS (
        SELECT tenant_id, attribute_id, hour, count(*) AS n,
               coalesce(sum(value_int)::numeric, sum(value_decimal)::text::numeric) AS s,
               coalesce(min(value_int)::numeric, min(value_decimal)::text::numeric) AS mn,
               coalesce(max(value_int)::numeric, max(value_decimal)::text::numeric) AS mx,
               min(ts) AS fts, coalesce(min(first_int)::numeric, min(first_decimal)::text::numeric) AS fv,
               max(ts) AS lts, coalesce(min(last_int)::numeric, min(last_decimal)::text::numeric) AS lv
          FROM (SELECT p.tenant_id, p.attribute_id, p.hour, p.ts, p.value_int, p.value_decimal,
                       first_value(p.value_int) OVER w AS first_int, first_value(p.value_decimal) OVER w AS first_decimal,
                       last_value(p.value_int) OVER w AS last_int, last_value(p.value_decimal) OVER w AS last_decimal
                  FROM numeric_points AS p
                WINDOW w AS (PARTITION BY p.tenant_id, p.attribute_id, p.hour
                             ORDER BY p.ts ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) AS points
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
$function$;
