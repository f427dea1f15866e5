-- After a tenant's points before floor are gone: reproject_attribute() for each hot value whose latest point was
-- before floor; returns the entities whose state changed and their new versions (µs), for the caches.
-- Called by RetentionRunner.expire.
-- Locks: pg_advisory_xact_lock(7346812003) (deletion lock, exclusive), only once there is a value to recompute.
-- Runs as tessera_owner (SECURITY DEFINER, search_path fixed): tessera_app cannot update the projection.
-- Last defined in 0021_retention_that_deletes.sql.
CREATE OR REPLACE FUNCTION public.retention_reproject(tenant bigint, floor timestamp with time zone)
 RETURNS TABLE(entity_id bigint, version bigint)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
DECLARE
    stale record;
    changed bigint;
    locked boolean := false;
BEGIN
    FOR stale IN
        SELECT p.entity_id AS entity, a.attribute_id AS attribute
          FROM entity_jsonb p
          CROSS JOIN LATERAL jsonb_each_text(p.attr_ts) AS kv(name, ts_us)
          JOIN attributes a ON a.tenant_id = p.tenant_id AND a.name = kv.name
         WHERE p.tenant_id = tenant AND kv.ts_us::bigint < (extract(epoch FROM floor) * 1000000)::bigint
         ORDER BY p.entity_id, a.attribute_id
    LOOP
        -- The deletion lock, as an erasure takes it: no flush moves a newer value in while
        -- the value is recomputed. Taken only when there is something to recompute.
        IF NOT locked THEN
            PERFORM pg_advisory_xact_lock(7346812003);
            locked := true;
        END IF;
        changed := reproject_attribute(tenant, stale.entity, stale.attribute);
        IF changed IS NOT NULL THEN
            entity_id := stale.entity;
            version := changed;
            RETURN NEXT;
        END IF;
    END LOOP;
END
$function$;
