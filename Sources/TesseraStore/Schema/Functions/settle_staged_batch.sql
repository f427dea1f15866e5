-- Settles a batch whose staging COPY the server gave up on (answered 503): true if it committed (staged or
-- flushed: acknowledge it), else fences it in ingest_fenced_batches (stage_flush() drops its rows) and false.
-- Called by IngestPipeline.settle (statement StagingSQL.settle) after a failed or abandoned staging COPY.
-- Locks: pg_advisory_xact_lock(7346812002) (flush lock, waiting at most wait_ms through lock_timeout).
-- Runs as tessera_owner (SECURITY DEFINER, search_path fixed) since 0013: it crosses the tenant wall.
-- Last defined in 0007_fenced_batches.sql.
CREATE OR REPLACE FUNCTION public.settle_staged_batch(batch bigint, wait_ms integer)
 RETURNS boolean
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
BEGIN
    PERFORM set_config('lock_timeout', wait_ms::text, true);
    PERFORM pg_advisory_xact_lock(7346812002);
    -- A new snapshot (READ COMMITTED, next statement): every flush before the lock is in it.
    IF EXISTS (SELECT 1 FROM ingest_flushed_batches WHERE batch_id = batch)
       OR EXISTS (SELECT 1 FROM entity_values_ingest WHERE batch_id = batch) THEN
        RETURN true;
    END IF;
    INSERT INTO ingest_fenced_batches (batch_id) VALUES (batch) ON CONFLICT (batch_id) DO NOTHING;
    RETURN false;
END
$function$;
