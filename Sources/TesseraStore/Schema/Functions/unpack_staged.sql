-- The flush's first step while a month is packed: the packs holding a (tenant, entity, attribute, month) series that
-- staged points (all, one batch and/or tenant, or the listed batches of a flush part) write into become rows again (whole, their other series too), so the move replaces and counts them as any
-- stored point (a point is a row or an element of a pack, never both). Reads staging once (it has no index).
-- Called by flush_staged() and stage_flush_part(), only while packed_months has a row. Locks: row locks of the packs it deletes.
-- Runs as tessera_owner (SECURITY DEFINER, search_path fixed): it crosses the tenant wall.
-- Last defined in 0038_flush_in_parallel_sessions.sql (only_batches, for a flush part; 0028 before, 0027).
CREATE OR REPLACE FUNCTION public.unpack_staged(only_batch bigint, only_tenant bigint, only_batches bigint[] DEFAULT NULL::bigint[])
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
           AND (only_batches IS NULL OR s.batch_id = ANY (only_batches))
           AND s.ts < (SELECT max(m.month_end) FROM packed_months AS m)
    ), gone AS (
        DELETE FROM entity_values_packed AS p
         WHERE (p.tenant_id, p.attribute_id, p.month, p.first_entity) IN (
                   SELECT q.tenant_id, q.attribute_id, q.month, q.first_entity
                     FROM hit AS h
                     JOIN entity_values_packed AS q
                       ON q.tenant_id = h.tenant_id AND q.attribute_id = h.attribute_id AND q.month = h.month
                      AND q.first_entity <= h.entity_id AND q.last_entity >= h.entity_id
                    WHERE h.entity_id = ANY (q.entity_ids))
        RETURNING p.*
    ), back AS (
        INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, ts, value_int, value_decimal, value_text,
                                      value_bool, value_ts, value_json, ingested_at)
        SELECT g.tenant_id, u.entity_id, g.attribute_id, u.ts, u.value_int, u.value_decimal, u.value_text,
               u.value_bool, u.value_ts, u.value_json, g.ingested_at
          FROM gone AS g
         CROSS JOIN LATERAL unnest(g.entity_ids, g.ts, g.values_int, g.values_decimal, g.values_text, g.values_bool,
                                   g.values_ts, g.values_json)
               AS u (entity_id, ts, value_int, value_decimal, value_text, value_bool, value_ts, value_json)
        RETURNING 1
    )
    SELECT count(*) FROM back
$function$;
