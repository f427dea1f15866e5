-- Deletes the packs of months whose partition is gone (dropped past every tenant's window by
-- retention_drop_partition() or pg_partman) and their packed_months rows; returns how many packs.
-- Called by retention_drop_partition() and partition_maintenance(). Locks: row locks of the packs.
-- Runs as tessera_owner (SECURITY DEFINER, search_path fixed): it crosses the tenant wall.
-- Last defined in 0027_cold_months_packed.sql.
CREATE OR REPLACE FUNCTION public.drop_orphan_packs()
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
DECLARE
    gone_month timestamptz;
    n bigint;
    packs bigint := 0;
BEGIN
    FOR gone_month IN
        SELECT m.month FROM packed_months AS m
         WHERE to_regclass('entity_values_ts_p' || to_char(m.month AT TIME ZONE 'UTC', 'YYYYMM')) IS NULL
    LOOP
        DELETE FROM entity_values_packed AS p WHERE p.month = gone_month;
        GET DIAGNOSTICS n = ROW_COUNT;
        packs := packs + n;
        DELETE FROM packed_months AS m WHERE m.month = gone_month;
    END LOOP;
    RETURN packs;
END
$function$;
