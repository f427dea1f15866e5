-- Deletes at most `batch` of a tenant's points before floor (oldest partition first, by ctid) and at most `batch` of
-- its hourly rollups before floor; returns both counts. Called in a loop by RetentionRunner.expire until both are 0.
-- Locks: row locks of the rows it deletes (ROW EXCLUSIVE on the tables): ingest and reads go on.
-- Runs as tessera_owner (SECURITY DEFINER, search_path fixed): tessera_app cannot delete from the series.
-- Packs wholly before the floor are deleted first (a point each counted), then the packs straddling it unpacked.
-- Last defined in 0027_cold_months_packed.sql (packs; 0021 before).
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
    -- Packs wholly before the floor go whole (their points counted); once none is left, the
    -- packs that straddle it become rows, which the loop below deletes like any other.
    WITH gone AS (
        DELETE FROM entity_values_packed AS p
         WHERE p.ctid = ANY (ARRAY(SELECT q.ctid FROM entity_values_packed AS q
                                    WHERE q.tenant_id = tenant AND q.last_ts < floor LIMIT greatest(batch / 100, 1)))
        RETURNING p.points
    )
    SELECT coalesce(sum(g.points), 0) INTO points FROM gone AS g;
    IF points = 0 THEN
        PERFORM unpack_values(tenant, NULL, NULL, floor, floor);
        -- Months left without a pack are no longer packed (nor is the flush's check needed).
        DELETE FROM packed_months AS m
         WHERE m.month < floor AND NOT EXISTS (SELECT 1 FROM entity_values_packed AS p WHERE p.month = m.month);
    END IF;
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
