-- The flush's first step while a month is packed: the packs of the (tenant, entity, attribute, month) that staged
-- points (all, or one batch and/or tenant) write into become rows again, so the move replaces and counts them as any
-- stored point (a point is a row or an element of a pack, never both). Reads staging once (it has no index).
-- Called only by flush_staged(), only while packed_months has a row. Locks: row locks of the packs it deletes.
-- Runs as tessera_owner (SECURITY DEFINER, search_path fixed): it crosses the tenant wall.
-- Last defined in 0027_cold_months_packed.sql.
CREATE OR REPLACE FUNCTION public.unpack_staged(only_batch bigint, only_tenant bigint)
 RETURNS bigint
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
    WITH hit AS (
        SELECT DISTINCT s.tenant_id, s.entity_id, s.attribute_id, date_trunc('month', s.ts, 'UTC') AS month
          FROM entity_values_ingest AS s
         WHERE (only_batch IS NULL OR s.batch_id = only_batch)
           AND (only_tenant IS NULL OR s.tenant_id = only_tenant)
           AND s.ts < (SELECT max(m.month_end) FROM packed_months AS m)
    ), gone AS (
        DELETE FROM entity_values_packed AS p
         USING hit AS h
         WHERE p.tenant_id = h.tenant_id AND p.entity_id = h.entity_id AND p.attribute_id = h.attribute_id
           AND p.month = h.month
        RETURNING p.*
    ), back AS (
        INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, ts, value_int, value_decimal, value_text,
                                      value_bool, value_ts, value_json, ingested_at)
        SELECT g.tenant_id, g.entity_id, g.attribute_id, u.ts, u.value_int, u.value_decimal, u.value_text,
               u.value_bool, u.value_ts, u.value_json, g.ingested_at
          FROM gone AS g
         CROSS JOIN LATERAL unnest(g.ts, g.values_int, g.values_decimal, g.values_text, g.values_bool, g.values_ts, g.values_json)
               AS u (ts, value_int, value_decimal, value_text, value_bool, value_ts, value_json)
        RETURNING 1
    )
    SELECT count(*) FROM back
$function$;
