-- The staged (batch, tenant) pairs and their rows: what the flusher splits between its sessions (FlushSplit). One
-- scan of the staging table.
-- Called by IngestPipeline's flusher (StagingSQL.stagedBatches) when it runs more than one flush session.
-- Locks: none. Runs as tessera_owner (SECURITY DEFINER, search_path fixed): the server cannot read staging.
-- Last defined in 0038_flush_in_parallel_sessions.sql.
CREATE OR REPLACE FUNCTION public.staged_batches()
 RETURNS TABLE(batch_id bigint, tenant_id bigint, staged_rows bigint)
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
    SELECT s.batch_id, s.tenant_id, count(*) FROM entity_values_ingest AS s GROUP BY 1, 2 ORDER BY 1, 2
$function$;
