-- A dry run's figures for one tenant: its points and hourly rollups before floor, and its entities with a projected
-- value before it. Called by RetentionRunner.run(dryRun: true) (`tessera retention run --dry-run`).
-- Locks: none.
-- Runs as tessera_owner (SECURITY DEFINER, search_path fixed): it crosses the tenant wall.
-- Last defined in 0028_packs_of_many_series.sql (packed_values' entities; 0027 before).
CREATE OR REPLACE FUNCTION public.retention_preview(tenant bigint, floor timestamp with time zone)
 RETURNS TABLE(points bigint, rollups bigint, entities bigint)
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
    SELECT (SELECT count(*) FROM entity_values_ts WHERE tenant_id = tenant AND ts < floor)
           + (SELECT count(*) FROM packed_values(tenant, NULL, NULL, '-infinity', floor)),
           (SELECT count(*) FROM entity_values_hourly WHERE tenant_id = tenant AND hour < floor),
           (SELECT count(DISTINCT p.entity_id)
              FROM entity_jsonb p CROSS JOIN LATERAL jsonb_each_text(p.attr_ts) AS kv(name, ts_us)
             WHERE p.tenant_id = tenant AND kv.ts_us::bigint < (extract(epoch FROM floor) * 1000000)::bigint)
$function$;
