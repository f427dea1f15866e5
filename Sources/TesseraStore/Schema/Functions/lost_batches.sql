-- Of the given batch ids, those neither flushed nor staged: lost by the database (one snapshot answers both), each
-- once, in ascending order (the flusher replays them in that order: the older batch first). The ids not flushed, less
-- every batch id staged: one scan of the staging table (no index), however many ids.
-- The owner's (SECURITY DEFINER): it reads the staging table, which the server's role cannot.
-- Called by IngestPipeline's flusher (StagingSQL.lost) for batches held longer than the loss-check age.
-- Locks: none.
-- Last defined in 0037_lost_batches_in_one_scan.sql (was a scan of staging per id; 0013 before).
CREATE OR REPLACE FUNCTION public.lost_batches(batch_ids bigint[])
 RETURNS SETOF bigint
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
    SELECT b FROM unnest(batch_ids) AS b
     WHERE NOT EXISTS (SELECT FROM ingest_flushed_batches AS f WHERE f.batch_id = b)
    EXCEPT
    SELECT s.batch_id FROM entity_values_ingest AS s
    ORDER BY 1
$function$;
