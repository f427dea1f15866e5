-- The staged tenants and their staged rows, largest first: what a flush in several sessions splits (FlushSplit).
-- Called by IngestPipeline.flushOnce when flushSessions > 1 (statement StagingSQL.stagedTenants).
-- Locks: none.
-- Runs as tessera_owner (SECURITY DEFINER, search_path fixed): tessera_app cannot read the staging table.
-- Last defined in 0026_flush_in_parallel_sessions.sql.
CREATE OR REPLACE FUNCTION public.staged_tenants()
 RETURNS TABLE(tenant_id bigint, staged_rows bigint)
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
    SELECT s.tenant_id, count(*) FROM entity_values_ingest AS s GROUP BY s.tenant_id ORDER BY 2 DESC, 1
$function$;
