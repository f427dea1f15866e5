-- Packs one tenant's rows of a past month into rows of entity_values_packed: each attribute's series in entity order,
-- cut into packs of about 1,000 points (a series never split), the points' entities, times and typed values as arrays
-- in (entity, time) order, lz4; first unpacking the month's packs whose entity range holds rows written since;
-- records the month in packed_months; returns how many points it packed.
-- Called by MonthArchiver.pack (`tessera archive pack`), a tenant at a time.
-- Locks: 7346812003 exclusively (no flush moves points while it runs), row locks of what it moves.
-- Runs as tessera_owner (SECURITY DEFINER, search_path fixed); not granted to tessera_app.
-- Last defined in 0028_packs_of_many_series.sql (packs of many series, ~1,000 points a pack; 0027 before).
CREATE OR REPLACE FUNCTION public.pack_month(month date, tenant bigint)
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
DECLARE
    month_start timestamptz := date_trunc('month', month)::timestamp AT TIME ZONE 'UTC';
    month_end timestamptz := (date_trunc('month', month) + interval '1 month')::timestamp AT TIME ZONE 'UTC';
    pack_points constant integer := 1000;
    packed bigint;
BEGIN
    IF month_end > date_trunc('month', clock_timestamp(), 'UTC') THEN
        RAISE EXCEPTION 'only a month before the current one can be packed: %', to_char(month, 'YYYY-MM')
            USING ERRCODE = '22023';
    END IF;
    IF to_regclass('entity_values_ts_p' || to_char(month, 'YYYYMM')) IS NULL THEN
        RAISE EXCEPTION '% has no partition in the database (nothing was written then, or it was archived or dropped)',
            to_char(month, 'YYYY-MM') USING ERRCODE = '22023';
    END IF;
    PERFORM pg_advisory_xact_lock(7346812003);
    -- Packs whose entities' range holds a series with rows written since: back into rows.
    WITH gone AS (
        DELETE FROM entity_values_packed AS p
         WHERE p.tenant_id = tenant AND p.month = month_start
           AND EXISTS (SELECT 1 FROM entity_values_ts AS e
                        WHERE e.tenant_id = p.tenant_id AND e.attribute_id = p.attribute_id
                          AND e.entity_id >= p.first_entity AND e.entity_id <= p.last_entity
                          AND e.ts >= month_start AND e.ts < month_end)
        RETURNING p.*
    )
    INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, ts, value_int, value_decimal, value_text,
                                  value_bool, value_ts, value_json, ingested_at)
    SELECT g.tenant_id, u.entity_id, g.attribute_id, u.ts, u.value_int, u.value_decimal, u.value_text,
           u.value_bool, u.value_ts, u.value_json, g.ingested_at
      FROM gone AS g
     CROSS JOIN LATERAL unnest(g.entity_ids, g.ts, g.values_int, g.values_decimal, g.values_text, g.values_bool,
                               g.values_ts, g.values_json)
           AS u (entity_id, ts, value_int, value_decimal, value_text, value_bool, value_ts, value_json);
    CREATE TEMP TABLE pack_rows ON COMMIT DROP AS
    WITH moved AS (
        DELETE FROM entity_values_ts AS e
         WHERE e.tenant_id = tenant AND e.ts >= month_start AND e.ts < month_end
        RETURNING e.*
    )
    SELECT * FROM moved;
    -- Each series' pack: the points of the attribute's series before it (in entity order), in
    -- thousands.
    CREATE TEMP TABLE pack_series ON COMMIT DROP AS
    SELECT s.attribute_id, s.entity_id,
           floor(coalesce(sum(s.n) OVER (PARTITION BY s.attribute_id ORDER BY s.entity_id
                                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) / pack_points)::bigint AS pack
      FROM (SELECT r.attribute_id, r.entity_id, count(*) AS n FROM pack_rows AS r GROUP BY 1, 2) AS s;
    ANALYZE pack_rows, pack_series;
    WITH made AS (
        INSERT INTO entity_values_packed (tenant_id, attribute_id, month, first_entity, last_entity, points, first_ts, last_ts,
                                          entity_ids, ts, values_int, values_decimal, values_text, values_bool, values_ts,
                                          values_json, ingested_at)
        SELECT tenant, r.attribute_id, month_start, min(r.entity_id), max(r.entity_id), count(*), min(r.ts), max(r.ts),
               array_agg(r.entity_id ORDER BY r.entity_id, r.ts),
               array_agg(r.ts ORDER BY r.entity_id, r.ts),
               CASE WHEN count(r.value_int) > 0 THEN array_agg(r.value_int ORDER BY r.entity_id, r.ts) END,
               CASE WHEN count(r.value_decimal) > 0 THEN array_agg(r.value_decimal ORDER BY r.entity_id, r.ts) END,
               CASE WHEN count(r.value_text) > 0 THEN array_agg(r.value_text ORDER BY r.entity_id, r.ts) END,
               CASE WHEN count(r.value_bool) > 0 THEN array_agg(r.value_bool ORDER BY r.entity_id, r.ts) END,
               CASE WHEN count(r.value_ts) > 0 THEN array_agg(r.value_ts ORDER BY r.entity_id, r.ts) END,
               CASE WHEN count(r.value_json) > 0 THEN array_agg(r.value_json ORDER BY r.entity_id, r.ts) END,
               max(r.ingested_at)
          FROM pack_rows AS r
          JOIN pack_series AS s ON s.attribute_id = r.attribute_id AND s.entity_id = r.entity_id
         GROUP BY r.attribute_id, s.pack
         ORDER BY r.attribute_id, min(r.entity_id)
        RETURNING points
    )
    SELECT coalesce(sum(points), 0) INTO packed FROM made;
    DROP TABLE pack_rows, pack_series;
    INSERT INTO packed_months AS m (month, month_end, packed_at, points, packs)
    SELECT month_start, month_end, clock_timestamp(), sum(p.points), count(*)
      FROM entity_values_packed AS p WHERE p.month = month_start
    HAVING count(*) > 0
    ON CONFLICT ON CONSTRAINT packed_months_pkey DO UPDATE
       SET packed_at = EXCLUDED.packed_at, points = EXCLUDED.points, packs = EXCLUDED.packs;
    RETURN packed;
END
$function$;
