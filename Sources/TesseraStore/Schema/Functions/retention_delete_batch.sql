-- Deletes at most `batch` of a tenant's points before floor (oldest partition first, by ctid) and at most `batch` of
-- its hourly rollups before floor; returns both counts. Called in a loop by RetentionRunner.expire until both are 0.
-- Locks: row locks of the rows it deletes (ROW EXCLUSIVE on the tables): ingest and reads go on.
-- Runs as tessera_owner (SECURITY DEFINER, search_path fixed): tessera_app cannot delete from the series.
-- Last defined in 0021_retention_that_deletes.sql.
CREATE OR REPLACE FUNCTION public.retention_delete_batch(tenant bigint, floor timestamp with time zone, batch integer)
 RETURNS TABLE(points bigint, rollups bigint)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
DECLARE
    part record;
    n bigint;
BEGIN
    points := 0;
    FOR part IN
        SELECT c.relname::text AS name,
               substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \(''([^'']+)''\)')::timestamptz AS lo
          FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'entity_values_ts'::regclass
         ORDER BY 2
    LOOP
        EXIT WHEN part.lo IS NULL OR part.lo >= floor OR points >= batch;
        EXECUTE format(
            'DELETE FROM %1$I WHERE ctid = ANY (ARRAY(SELECT ctid FROM %1$I WHERE tenant_id = $1 AND ts < $2 LIMIT $3))',
            part.name
        ) USING tenant, floor, batch - points;
        GET DIAGNOSTICS n = ROW_COUNT;
        points := points + n;
    END LOOP;
    DELETE FROM entity_values_hourly
     WHERE ctid = ANY (ARRAY(SELECT ctid FROM entity_values_hourly WHERE tenant_id = tenant AND hour < floor LIMIT batch));
    GET DIAGNOSTICS rollups = ROW_COUNT;
    RETURN NEXT;
END
$function$;
