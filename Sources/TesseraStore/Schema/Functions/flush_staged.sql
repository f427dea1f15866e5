-- unpack_staged() while a month is packed, then move_staged(only_batch, only_tenant); returns its change columns. The
-- hours in which the move replaced a stored value are recomputed by the trigger rollups_follow_replaced_points().
-- Called by stage_flush() (all staged, or one (batch, tenant) at a time after a data error), SafeWriter (a
-- `safe` write's own batch, statement StagingSQL.flushStaged) and Quarantine.replay.
-- Locks: none of its own; SafeWriter and Quarantine.replay hold 7346812003 shared, stage_flush() both flush locks.
-- Runs as tessera_owner (SECURITY DEFINER, search_path fixed) since 0013: it crosses the tenant wall.
-- Last defined in 0029_rollups_follow_replaced_points.sql (refresh_hourly() left to the trigger; 0027 before, 0010).
CREATE OR REPLACE FUNCTION public.flush_staged(only_batch bigint, only_tenant bigint)
 RETURNS TABLE(moved_rows bigint, moved_batches bigint, projected_entities bigint, moved_tenants bigint[], projected_tenant_ids bigint[], projected_entity_ids bigint[], projected_versions bigint[], flushed_at_us bigint)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
BEGIN
    IF EXISTS (SELECT 1 FROM packed_months) THEN
        PERFORM unpack_staged(only_batch, only_tenant);
    END IF;
    RETURN QUERY SELECT * FROM move_staged(only_batch, only_tenant);
END
$function$;
