-- unpack_staged() while a month is packed, then move_staged(only_batch, only_tenant, seen); returns its change columns.
-- A flush of everything staged while a month is packed first lists the staged batches, and moves only those: a batch
-- committed after the unpack's snapshot waits for the next flush (it could hold a point of a pack left packed).
-- The hours in which the move replaced a stored value are recomputed by the trigger rollups_follow_replaced_points().
-- Called by stage_flush() (all staged, or one (batch, tenant) at a time after a data error), stage_flush_part() (one
-- (batch, tenant) at a time after a data error), SafeWriter (a
-- `safe` write's own batch, statement StagingSQL.flushStaged) and Quarantine.replay.
-- Locks: none of its own; SafeWriter and Quarantine.replay hold 7346812003 shared, stage_flush() both flush locks.
-- Runs as tessera_owner (SECURITY DEFINER, search_path fixed) since 0013: it crosses the tenant wall.
-- Last defined in 0030_flush_moves_the_batches_its_unpack_saw.sql (the batches its unpack saw; 0029 before, 0027, 0010).
CREATE OR REPLACE FUNCTION public.flush_staged(only_batch bigint, only_tenant bigint)
 RETURNS TABLE(moved_rows bigint, moved_batches bigint, projected_entities bigint, moved_tenants bigint[], projected_tenant_ids bigint[], projected_entity_ids bigint[], projected_versions bigint[], flushed_at_us bigint)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
DECLARE
    seen bigint[];
BEGIN
    IF EXISTS (SELECT 1 FROM packed_months) THEN
        IF only_batch IS NULL THEN
            SELECT coalesce(array_agg(b.batch_id), '{}') INTO seen
              FROM (SELECT DISTINCT s.batch_id FROM entity_values_ingest AS s
                     WHERE only_tenant IS NULL OR s.tenant_id = only_tenant) AS b;
        END IF;
        PERFORM unpack_staged(only_batch, only_tenant);
    END IF;
    RETURN QUERY SELECT * FROM move_staged(only_batch, only_tenant, seen);
END
$function$;
