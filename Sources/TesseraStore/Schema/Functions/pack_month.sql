-- Packs one tenant's rows of a past month into one row per (entity, attribute) of entity_values_packed (times and
-- typed values as arrays in time order, lz4), first unpacking the month's packs that rows were written beside since;
-- records the month in packed_months; returns how many points it packed.
-- Called by MonthArchiver.pack (`tessera archive pack`), a tenant at a time.
-- Locks: 7346812003 exclusively (no flush moves points while it runs), row locks of what it moves.
-- Runs as tessera_owner (SECURITY DEFINER, search_path fixed); not granted to tessera_app.
-- Last defined in 0027_cold_months_packed.sql.
CREATE OR REPLACE FUNCTION public.pack_month(month date, tenant bigint)
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
DECLARE
    month_start timestamptz := date_trunc('month', month)::timestamp AT TIME ZONE 'UTC';
    month_end timestamptz := (date_trunc('month', month) + interval '1 month')::timestamp AT TIME ZONE 'UTC';
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
    -- Packs beside which rows were written since: back into rows, to be packed with them.
    WITH gone AS (
        DELETE FROM entity_values_packed AS p
         WHERE p.tenant_id = tenant AND p.month = month_start
           AND EXISTS (SELECT 1 FROM entity_values_ts AS e
                        WHERE e.tenant_id = p.tenant_id AND e.entity_id = p.entity_id AND e.attribute_id = p.attribute_id
                          AND e.ts >= month_start AND e.ts < month_end)
        RETURNING p.*
    )
    INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, ts, value_int, value_decimal, value_text,
                                  value_bool, value_ts, value_json, ingested_at)
    SELECT g.tenant_id, g.entity_id, g.attribute_id, u.ts, u.value_int, u.value_decimal, u.value_text,
           u.value_bool, u.value_ts, u.value_json, g.ingested_at
      FROM gone AS g
     CROSS JOIN LATERAL unnest(g.ts, g.values_int, g.values_decimal, g.values_text, g.values_bool, g.values_ts, g.values_json)
           AS u (ts, value_int, value_decimal, value_text, value_bool, value_ts, value_json);
    WITH moved AS (
        DELETE FROM entity_values_ts AS e
         WHERE e.tenant_id = tenant AND e.ts >= month_start AND e.ts < month_end
        RETURNING e.*
    ), made AS (
        INSERT INTO entity_values_packed (tenant_id, entity_id, attribute_id, month, points, first_ts, last_ts, ts,
                                          values_int, values_decimal, values_text, values_bool, values_ts, values_json,
                                          ingested_at)
        SELECT m.tenant_id, m.entity_id, m.attribute_id, month_start, count(*), min(m.ts), max(m.ts),
               array_agg(m.ts ORDER BY m.ts),
               CASE WHEN count(m.value_int) > 0 THEN array_agg(m.value_int ORDER BY m.ts) END,
               CASE WHEN count(m.value_decimal) > 0 THEN array_agg(m.value_decimal ORDER BY m.ts) END,
               CASE WHEN count(m.value_text) > 0 THEN array_agg(m.value_text ORDER BY m.ts) END,
               CASE WHEN count(m.value_bool) > 0 THEN array_agg(m.value_bool ORDER BY m.ts) END,
               CASE WHEN count(m.value_ts) > 0 THEN array_agg(m.value_ts ORDER BY m.ts) END,
               CASE WHEN count(m.value_json) > 0 THEN array_agg(m.value_json ORDER BY m.ts) END,
               max(m.ingested_at)
          FROM moved AS m
         GROUP BY m.tenant_id, m.entity_id, m.attribute_id
         ORDER BY m.tenant_id, m.entity_id, m.attribute_id
        RETURNING points
    )
    SELECT coalesce(sum(points), 0) INTO packed FROM made;
    INSERT INTO packed_months AS m (month, month_end, packed_at, points, packs)
    SELECT month_start, month_end, clock_timestamp(), sum(p.points), count(*)
      FROM entity_values_packed AS p WHERE p.month = month_start
    HAVING count(*) > 0
    ON CONFLICT ON CONSTRAINT packed_months_pkey DO UPDATE
       SET packed_at = EXCLUDED.packed_at, points = EXCLUDED.points, packs = EXCLUDED.packs;
    RETURN packed;
END
$function$;
