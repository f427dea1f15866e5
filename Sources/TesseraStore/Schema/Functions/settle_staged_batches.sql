-- Settles the batches of one staging write the server gave up on (a batch a tenant of the group, committed together or
-- not at all): true if it committed (any of them staged or flushed: acknowledge them), else fences every one of them
-- in ingest_fenced_batches (a flush drops their rows) and false.
-- Called by IngestPipeline.settle (statement StagingSQL.settle) after a failed or abandoned staging write.
-- Locks: pg_advisory_xact_lock(7346812002) (flush lock, exclusive: no flush or part of one runs beside it; waiting at
-- most wait_ms through lock_timeout).
-- Runs as tessera_owner (SECURITY DEFINER, search_path fixed): it crosses the tenant wall.
-- Last defined in 0038_flush_in_parallel_sessions.sql.
CREATE OR REPLACE FUNCTION public.settle_staged_batches(batch_ids bigint[], wait_ms integer)
 RETURNS boolean
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
BEGIN
    PERFORM set_config('lock_timeout', wait_ms::text, true);
    PERFORM pg_advisory_xact_lock(7346812002);
    -- A new snapshot (READ COMMITTED, next statement): every flush before the lock is in it.
    IF EXISTS (SELECT 1 FROM ingest_flushed_batches AS f WHERE f.batch_id = ANY (batch_ids))
       OR EXISTS (SELECT 1 FROM entity_values_ingest AS s WHERE s.batch_id = ANY (batch_ids)) THEN
        RETURN true;
    END IF;
    INSERT INTO ingest_fenced_batches (batch_id) SELECT DISTINCT b FROM unnest(batch_ids) AS b ON CONFLICT (batch_id) DO NOTHING;
    RETURN false;
END
$function$;
