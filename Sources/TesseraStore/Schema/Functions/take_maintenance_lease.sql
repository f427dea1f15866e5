-- Takes or renews the lease on a periodic job (maintenance_leases) for `holder` for `seconds`; false while another
-- holder's lease runs. Called by RetentionService before each run.
-- Locks: the job's row in maintenance_leases.
-- Runs as tessera_owner (SECURITY DEFINER, search_path fixed): tessera_app has no rights on the table.
-- Last defined in 0021_retention_that_deletes.sql.
CREATE OR REPLACE FUNCTION public.take_maintenance_lease(job text, holder text, seconds integer)
 RETURNS boolean
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
    WITH taken AS (
        INSERT INTO maintenance_leases AS l (job, holder, until)
        VALUES (job, holder, clock_timestamp() + make_interval(secs => seconds))
        ON CONFLICT (job) DO UPDATE SET holder = EXCLUDED.holder, until = EXCLUDED.until
         WHERE l.until < clock_timestamp() OR l.holder = EXCLUDED.holder
        RETURNING 1
    )
    SELECT EXISTS (SELECT 1 FROM taken)
$function$;
