-- Retention that deletes (README: Data lifecycle). A tenant's retention_months (0 = keep
-- forever) keeps the current UTC month and the months - 1 before it: the floor is the first
-- instant of the oldest kept month, the same floor ingest refuses points below. Past it:
--   * a whole monthly partition is dropped once every tenant's window has passed it (a tenant
--     that keeps everything holds every partition), never the current month or later;
--   * inside partitions others still need, a tenant's expired points go in bounded batches,
--     one short transaction each, with the hourly rollups they were counted in;
--   * a hot value whose latest point expired leaves the projection (reproject_attribute).
-- RetentionRunner drives these functions (the server on a schedule, `tessera retention run`).
-- Every function takes the time to judge by, so tests move the clock. Runs as tessera_owner.

-- The first instant a tenant with `months` of retention keeps at `at`; NULL for 0 (forever).
CREATE FUNCTION retention_floor(months integer, at timestamptz)
RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN months > 0
                THEN (date_trunc('month', at AT TIME ZONE 'UTC') - make_interval(months => months - 1)) AT TIME ZONE 'UTC'
           END
$$;
GRANT EXECUTE ON FUNCTION retention_floor(integer, timestamptz) TO tessera_app;

-- The tenants that do not keep their points forever (the tenants table is behind the wall).
CREATE FUNCTION tenants_with_retention()
RETURNS TABLE (tenant_id bigint, name text, retention_months integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT t.tenant_id, t.name, t.retention_months FROM tenants t WHERE t.retention_months > 0
$$;
REVOKE ALL ON FUNCTION tenants_with_retention() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenants_with_retention() TO tessera_app;

-- What retention_delete_batch and retention_reproject would remove for a tenant (a dry run):
-- its points and rollups before floor, and the entities with a projected value before it.
CREATE FUNCTION retention_preview(tenant bigint, floor timestamptz)
RETURNS TABLE (points bigint, rollups bigint, entities bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT (SELECT count(*) FROM entity_values_ts WHERE tenant_id = tenant AND ts < floor),
           (SELECT count(*) FROM entity_values_hourly WHERE tenant_id = tenant AND hour < floor),
           (SELECT count(DISTINCT p.entity_id)
              FROM entity_jsonb p CROSS JOIN LATERAL jsonb_each_text(p.attr_ts) AS kv(name, ts_us)
             WHERE p.tenant_id = tenant AND kv.ts_us::bigint < (extract(epoch FROM floor) * 1000000)::bigint)
$$;
REVOKE ALL ON FUNCTION retention_preview(bigint, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION retention_preview(bigint, timestamptz) TO tessera_app;

-- Every partition of the series wholly before the current month at `at`, its range, and the
-- tenants that hold it: those whose window has not passed its end (forever, or a floor before
-- its end). Only a partition no tenant holds is dropped: a tenant still inside its window may
-- write a back-dated point there, and a server that knows the partition would not make it
-- again (PartitionGuard), so its flush would fail. Inside a held partition, the expired rows
-- of the others go in batches (retention_delete_batch).
CREATE FUNCTION retention_partitions(at timestamptz)
RETURNS TABLE (partition_name text, range_start timestamptz, range_end timestamptz, held_by bigint[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH parts AS (
        SELECT c.relname::text AS name,
               substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \(''([^'']+)''\)')::timestamptz AS lo,
               substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \(''([^'']+)''\)')::timestamptz AS hi
          FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'entity_values_ts'::regclass
    )
    SELECT p.name, p.lo, p.hi,
           coalesce((SELECT array_agg(t.tenant_id ORDER BY t.tenant_id) FROM tenants t
                      WHERE t.retention_months = 0 OR retention_floor(t.retention_months, at) < p.hi), '{}')
      FROM parts p
     WHERE p.hi <= date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
     ORDER BY p.lo
$$;
REVOKE ALL ON FUNCTION retention_partitions(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION retention_partitions(timestamptz) TO tessera_app;

-- Drops one partition that no tenant holds at `at` (see retention_partitions), and the hourly
-- rollups of its range. Waits at most lock_ms for its locks (dropping a partition locks the
-- series' parent table for a moment, and a lock request queued there would hold up ingest
-- and reads behind it): false, and nothing dropped, when they did not come or the partition
-- is held after all.
CREATE FUNCTION retention_drop_partition(name text, at timestamptz, lock_ms integer)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
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
    DELETE FROM entity_values_hourly h
     USING tenants t
     WHERE h.tenant_id = t.tenant_id AND h.hour >= part.range_start AND h.hour < part.range_end
       AND retention_floor(t.retention_months, at) >= part.range_end;
    RETURN true;
END
$$;
REVOKE ALL ON FUNCTION retention_drop_partition(text, timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION retention_drop_partition(text, timestamptz, integer) TO tessera_app;

-- Deletes at most batch of the tenant's points before floor (oldest partition first) and at
-- most batch of its hourly rollups before floor; returns how many of each. The caller calls
-- again until both are 0: each call is one short transaction, and a DELETE takes no lock
-- that stops ingest or reads.
CREATE FUNCTION retention_delete_batch(tenant bigint, floor timestamptz, batch integer)
RETURNS TABLE (points bigint, rollups bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
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
$$;
REVOKE ALL ON FUNCTION retention_delete_batch(bigint, timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION retention_delete_batch(bigint, timestamptz, integer) TO tessera_app;

-- After the tenant's points before floor are gone: every hot value of the projection whose
-- latest point was before floor is set to what is left, or removed (reproject_attribute).
-- Returns the entities whose state changed, with their new versions (µs), for the caches.
CREATE FUNCTION retention_reproject(tenant bigint, floor timestamptz)
RETURNS TABLE (entity_id bigint, version bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
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
$$;
REVOKE ALL ON FUNCTION retention_reproject(bigint, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION retention_reproject(bigint, timestamptz) TO tessera_app;

-- Which server runs a periodic job now (retention): a lease taken for a while and renewed by
-- its holder, so that one server of many does the work and another takes over when it stops.
-- A table, not a session advisory lock: behind a transaction pooler a session is not kept.
CREATE TABLE maintenance_leases (
    job    text        PRIMARY KEY,
    holder text        NOT NULL,
    until  timestamptz NOT NULL
);

-- Takes (or renews) the lease on job for holder for seconds; false while another holds it.
CREATE FUNCTION take_maintenance_lease(job text, holder text, seconds integer)
RETURNS boolean
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH taken AS (
        INSERT INTO maintenance_leases AS l (job, holder, until)
        VALUES (job, holder, clock_timestamp() + make_interval(secs => seconds))
        ON CONFLICT (job) DO UPDATE SET holder = EXCLUDED.holder, until = EXCLUDED.until
         WHERE l.until < clock_timestamp() OR l.holder = EXCLUDED.holder
        RETURNING 1
    )
    SELECT EXISTS (SELECT 1 FROM taken)
$$;
REVOKE ALL ON FUNCTION take_maintenance_lease(text, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION take_maintenance_lease(text, text, integer) TO tessera_app;
