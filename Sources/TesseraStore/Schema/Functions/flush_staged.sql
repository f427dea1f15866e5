-- move_staged(only_batch, only_tenant) (after unpack_staged() while a month is packed), then refresh_hourly() for the hours in which it replaced a stored value
-- (a later statement, which sees what the move stored); returns move_staged()'s change columns.
-- Called by stage_flush() (all staged, or one (batch, tenant) at a time after a data error), SafeWriter (a
-- `safe` write's own batch, statement StagingSQL.flushStaged) and Quarantine.replay.
-- Locks: none of its own; SafeWriter and Quarantine.replay hold 7346812003 shared, stage_flush() both flush locks.
-- Runs as tessera_owner (SECURITY DEFINER, search_path fixed) since 0013: it crosses the tenant wall.
-- Last defined in 0027_cold_months_packed.sql (first unpack_staged() while a month is packed; 0010 before).
CREATE OR REPLACE FUNCTION public.flush_staged(only_batch bigint, only_tenant bigint)
 RETURNS TABLE(moved_rows bigint, moved_batches bigint, projected_entities bigint, moved_tenants bigint[], projected_tenant_ids bigint[], projected_entity_ids bigint[], projected_versions bigint[], flushed_at_us bigint)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
DECLARE
    moved record;
    tenant bigint;
BEGIN
    IF EXISTS (SELECT 1 FROM packed_months) THEN
        PERFORM unpack_staged(only_batch, only_tenant);
    END IF;
    SELECT * INTO moved FROM move_staged(only_batch, only_tenant);
    FOR tenant IN SELECT DISTINCT t FROM unnest(moved.replaced_tenants) AS t LOOP
        PERFORM refresh_hourly(tenant,
                               array(SELECT a FROM unnest(moved.replaced_tenants, moved.replaced_attributes) AS r(t, a) WHERE r.t = tenant),
                               array(SELECT h FROM unnest(moved.replaced_tenants, moved.replaced_hours) AS r(t, h) WHERE r.t = tenant));
    END LOOP;
    moved_rows := moved.moved_rows;
    moved_batches := moved.moved_batches;
    projected_entities := moved.projected_entities;
    moved_tenants := moved.moved_tenants;
    projected_tenant_ids := moved.projected_tenant_ids;
    projected_entity_ids := moved.projected_entity_ids;
    projected_versions := moved.projected_versions;
    flushed_at_us := moved.flushed_at_us;
    RETURN NEXT;
END
$function$;
