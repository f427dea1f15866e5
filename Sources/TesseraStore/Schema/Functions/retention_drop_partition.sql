-- Drops one partition no tenant holds (retention_partitions), re-checked under the lock, and the expired hourly
-- rollups of its range; false when its locks did not come within lock_ms or it is held.
-- Called by RetentionRunner.run.
-- Locks: ACCESS EXCLUSIVE on entity_values_ts (waiting at most lock_ms through lock_timeout), for the DROP.
-- Runs as tessera_owner (SECURITY DEFINER, search_path fixed): it crosses the tenant wall and owns the table.
-- Last defined in 0027_cold_months_packed.sql (drop_orphan_packs() after the drop; 0021 before).
CREATE OR REPLACE FUNCTION public.retention_drop_partition(name text, at timestamp with time zone, lock_ms integer)
 RETURNS boolean
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
DECLARE
    part record;
BEGIN
    SELECT * INTO part FROM retention_partitions(at) p WHERE p.partition_name = name;
    IF NOT FOUND OR cardinality(part.held_by) > 0 THEN
        RETURN false;
    END IF;
    PERFORM set_config('lock_timeout', lock_ms::text, true);
    BEGIN
        EXECUTE 'LOCK TABLE entity_values_ts IN ACCESS EXCLUSIVE MODE';
        -- Again under the lock: a PATCH may have lengthened a window since.
        SELECT * INTO part FROM retention_partitions(at) p WHERE p.partition_name = name;
        IF cardinality(part.held_by) > 0 THEN
            RETURN false;
        END IF;
        EXECUTE format('DROP TABLE %I', name);
    EXCEPTION WHEN lock_not_available THEN
        RETURN false;
    END;
    PERFORM drop_orphan_packs();
    DELETE FROM entity_values_hourly h
     USING tenants t
     WHERE h.tenant_id = t.tenant_id AND h.hour >= part.range_start AND h.hour < part.range_end
       AND retention_floor(t.retention_months, at) >= part.range_end;
    RETURN true;
END
$function$;
