-- A server's flush succeeded or failed (with its error): flush_status, which health_check()'s flush_failures reads.
-- A success is written only after failures or when the last one recorded is over ten seconds old.
-- Called by IngestPipeline's flusher (FlushOutcomeReport decides when).
-- Locks: the row of flush_status.
-- Last defined in 0020_health_checks_for_every_alarm.sql.
CREATE OR REPLACE FUNCTION public.record_flush_outcome(failed boolean, error text)
 RETURNS void
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
    UPDATE flush_status
       SET last_failure_at = CASE WHEN failed THEN now() ELSE last_failure_at END,
           failures_since_success = CASE WHEN failed THEN failures_since_success + 1 ELSE 0 END,
           last_error = CASE WHEN failed THEN left(error, 500) ELSE last_error END,
           last_success_at = CASE WHEN failed THEN last_success_at ELSE now() END
     WHERE failed OR failures_since_success > 0 OR last_success_at IS NULL OR last_success_at < now() - interval '10 seconds';
$function$;
