-- Of the given batch ids, those neither flushed nor staged: lost by the database (one snapshot answers both).
-- The owner's (SECURITY DEFINER): it reads the staging table, which the server's role cannot.
-- Called by IngestPipeline's flusher (StagingSQL.lost) for batches held longer than the loss-check age.
-- Locks: none.
-- Last defined in 0013_least_privilege_and_row_security.sql.
CREATE OR REPLACE FUNCTION public.lost_batches(batch_ids bigint[])
 RETURNS SETOF bigint
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
    SELECT b FROM unnest(batch_ids) AS b
     WHERE NOT EXISTS (SELECT FROM ingest_flushed_batches AS f WHERE f.batch_id = b)
       AND NOT EXISTS (SELECT FROM entity_values_ingest AS s WHERE s.batch_id = b)
$function$;
