-- Cold months packed in the database (issue 22, lever 6; README: Data lifecycle and backups,
-- "Packed months"). `tessera pack MONTH` turns a past month's rows of entity_values_ts into one
-- row per (tenant, entity, attribute, month) in entity_values_packed: the points' times and
-- typed values as arrays in time order, lz4-compressed (11.4 bytes a value on the air-quality
-- readings against 150 as rows; BENCHMARKS.md, "Cold months packed in the database").
--
-- The invariant every path keeps: a point is either a row of entity_values_ts or an element of
-- one pack, never both. So a read is the rows UNION ALL packed_values() of the same range, with
-- no duplicate to remove:
--   - a late point for a packed (tenant, entity, attribute, month) first unpacks that pack back
--     into rows (flush_staged(), before its move), so the move's upsert, point identity and
--     rollup bookkeeping work on rows as before; `tessera pack` packs the month again later;
--   - erasure, retention and archival unpack what they touch, then delete or export rows as
--     before; a dropped month's packs go with its partition.
-- Packing and unpacking never change the set of stored points, so the rollups stay as they are.
-- pack_month() holds the deletion lock (7346812003) exclusively, as erasure does: no flush moves
-- points while a tenant's month is being packed.

CREATE TABLE entity_values_packed (
    tenant_id      bigint             NOT NULL,
    entity_id      bigint             NOT NULL,
    attribute_id   integer            NOT NULL,
    month          timestamptz        NOT NULL,   -- the UTC month's first instant
    points         integer            NOT NULL,
    first_ts       timestamptz        NOT NULL,
    last_ts        timestamptz        NOT NULL,
    ts             timestamptz[]      NOT NULL,   -- ascending, one a point
    values_int     bigint[],                      -- each typed array is NULL or as long as ts
    values_decimal double precision[],
    values_text    text[],
    values_bool    boolean[],
    values_ts      timestamptz[],
    values_json    jsonb[],
    ingested_at    timestamptz        NOT NULL,   -- the latest arrival time of its points
    PRIMARY KEY (tenant_id, entity_id, attribute_id, month),
    CHECK (month = date_trunc('month', month, 'UTC')),
    CHECK (cardinality(ts) = points)
) WITH (toast_tuple_target = 128);
CREATE INDEX entity_values_packed_tenant_attribute_month ON entity_values_packed (tenant_id, attribute_id, month);
CREATE INDEX entity_values_packed_month ON entity_values_packed (month);
ALTER TABLE entity_values_packed
    ALTER COLUMN ts SET COMPRESSION lz4,
    ALTER COLUMN values_int SET COMPRESSION lz4,
    ALTER COLUMN values_decimal SET COMPRESSION lz4,
    ALTER COLUMN values_text SET COMPRESSION lz4,
    ALTER COLUMN values_bool SET COMPRESSION lz4,
    ALTER COLUMN values_ts SET COMPRESSION lz4,
    ALTER COLUMN values_json SET COMPRESSION lz4;

ALTER TABLE entity_values_packed ENABLE ROW LEVEL SECURITY;
ALTER TABLE entity_values_packed FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_wall ON entity_values_packed
    USING (tenant_id = nullif(current_setting('tessera.tenant_id', true), '')::bigint)
    WITH CHECK (tenant_id = nullif(current_setting('tessera.tenant_id', true), '')::bigint);
CREATE POLICY owner_all ON entity_values_packed TO tessera_owner USING (true) WITH CHECK (true);
GRANT SELECT ON entity_values_packed TO tessera_app;

-- The months that have packs, and what their last pack did (what an operator lists, and the
-- flush's cheap test for whether a staged point may belong to a packed month).
CREATE TABLE packed_months (
    month       timestamptz PRIMARY KEY CHECK (month = date_trunc('month', month, 'UTC')),
    month_end   timestamptz NOT NULL,
    packed_at   timestamptz NOT NULL,
    points      bigint      NOT NULL,   -- values in the month's packs after its last pack
    packs       bigint      NOT NULL
);
GRANT SELECT ON packed_months TO tessera_app;

-- The packed points of a tenant (one attribute, or all) with from_ts <= ts < to_ts, in the
-- shape of entity_values_ts's rows. Inlined into the caller's query (SQL, STABLE, not a
-- definer), so the caller's entity condition reaches the primary key; under the tenant wall.
CREATE FUNCTION packed_values(tenant bigint, attribute integer, from_ts timestamptz, to_ts timestamptz)
RETURNS TABLE (entity_id bigint, attribute_id integer, ts timestamptz, value_int bigint, value_decimal double precision,
               value_text text, value_bool boolean, value_ts timestamptz, value_json jsonb)
LANGUAGE sql STABLE AS $$
    SELECT p.entity_id, p.attribute_id, u.ts, u.value_int, u.value_decimal, u.value_text, u.value_bool, u.value_ts, u.value_json
      FROM entity_values_packed AS p
     CROSS JOIN LATERAL unnest(p.ts, p.values_int, p.values_decimal, p.values_text, p.values_bool, p.values_ts, p.values_json)
           AS u (ts, value_int, value_decimal, value_text, value_bool, value_ts, value_json)
     WHERE p.tenant_id = tenant AND (attribute IS NULL OR p.attribute_id = attribute)
       AND p.month >= date_trunc('month', from_ts, 'UTC') AND p.month < to_ts
       AND p.last_ts >= from_ts AND p.first_ts < to_ts
       AND u.ts >= from_ts AND u.ts < to_ts
$$;
REVOKE ALL ON FUNCTION packed_values(bigint, integer, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION packed_values(bigint, integer, timestamptz, timestamptz) TO tessera_app;

-- Packs back into rows: the packs of a tenant (some entities or all; one attribute or all) that
-- hold a point with from_ts <= ts < to_ts become rows of entity_values_ts again, whole; returns
-- how many points. Erasure and retention call it before they delete rows; the caller holds the
-- deletion lock (or is the flush, which holds it shared).
CREATE FUNCTION unpack_values(tenant bigint, entity_ids bigint[], attribute integer, from_ts timestamptz, to_ts timestamptz)
RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH gone AS (
        DELETE FROM entity_values_packed AS p
         WHERE p.tenant_id = tenant AND (entity_ids IS NULL OR p.entity_id = ANY (entity_ids))
           AND (attribute IS NULL OR p.attribute_id = attribute)
           AND p.last_ts >= from_ts AND p.first_ts < to_ts
        RETURNING p.*
    ), back AS (
        INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, ts, value_int, value_decimal, value_text,
                                      value_bool, value_ts, value_json, ingested_at)
        SELECT g.tenant_id, g.entity_id, g.attribute_id, u.ts, u.value_int, u.value_decimal, u.value_text,
               u.value_bool, u.value_ts, u.value_json, g.ingested_at
          FROM gone AS g
         CROSS JOIN LATERAL unnest(g.ts, g.values_int, g.values_decimal, g.values_text, g.values_bool, g.values_ts, g.values_json)
               AS u (ts, value_int, value_decimal, value_text, value_bool, value_ts, value_json)
        RETURNING 1
    )
    SELECT count(*) FROM back
$$;
REVOKE ALL ON FUNCTION unpack_values(bigint, bigint[], integer, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION unpack_values(bigint, bigint[], integer, timestamptz, timestamptz) TO tessera_app;

-- The flush's first step when a month is packed: the packs that staged points (all, or one
-- batch and/or tenant) are about to write into become rows again, so the move replaces and
-- counts them as it does any stored point. Staging has no index: this reads it once, and only
-- flush_staged() calls it, only while packed_months has a row.
CREATE FUNCTION unpack_staged(only_batch bigint, only_tenant bigint)
RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH hit AS (
        SELECT DISTINCT s.tenant_id, s.entity_id, s.attribute_id, date_trunc('month', s.ts, 'UTC') AS month
          FROM entity_values_ingest AS s
         WHERE (only_batch IS NULL OR s.batch_id = only_batch)
           AND (only_tenant IS NULL OR s.tenant_id = only_tenant)
           AND s.ts < (SELECT max(m.month_end) FROM packed_months AS m)
    ), gone AS (
        DELETE FROM entity_values_packed AS p
         USING hit AS h
         WHERE p.tenant_id = h.tenant_id AND p.entity_id = h.entity_id AND p.attribute_id = h.attribute_id
           AND p.month = h.month
        RETURNING p.*
    ), back AS (
        INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, ts, value_int, value_decimal, value_text,
                                      value_bool, value_ts, value_json, ingested_at)
        SELECT g.tenant_id, g.entity_id, g.attribute_id, u.ts, u.value_int, u.value_decimal, u.value_text,
               u.value_bool, u.value_ts, u.value_json, g.ingested_at
          FROM gone AS g
         CROSS JOIN LATERAL unnest(g.ts, g.values_int, g.values_decimal, g.values_text, g.values_bool, g.values_ts, g.values_json)
               AS u (ts, value_int, value_decimal, value_text, value_bool, value_ts, value_json)
        RETURNING 1
    )
    SELECT count(*) FROM back
$$;
REVOKE ALL ON FUNCTION unpack_staged(bigint, bigint) FROM PUBLIC;

-- Packs one tenant's rows of a past month (its partition must be in the database); returns how
-- many points it packed. Packs of the month that rows were written beside since (late points)
-- are unpacked first and packed again with them. Holds the deletion lock exclusively for its
-- transaction: `tessera pack` runs it a tenant at a time.
CREATE FUNCTION pack_month(month date, tenant bigint)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    month_start timestamptz := date_trunc('month', month)::timestamp AT TIME ZONE 'UTC';
    month_end timestamptz := (date_trunc('month', month) + interval '1 month')::timestamp AT TIME ZONE 'UTC';
    packed bigint;
BEGIN
    IF month_end > date_trunc('month', clock_timestamp(), 'UTC') THEN
        RAISE EXCEPTION 'only a month before the current one can be packed: %', to_char(month, 'YYYY-MM')
            USING ERRCODE = '22023';
    END IF;
    IF to_regclass('entity_values_ts_p' || to_char(month, 'YYYYMM')) IS NULL THEN
        RAISE EXCEPTION '% has no partition in the database (nothing was written then, or it was archived or dropped)',
            to_char(month, 'YYYY-MM') USING ERRCODE = '22023';
    END IF;
    PERFORM pg_advisory_xact_lock(7346812003);
    -- Packs beside which rows were written since: back into rows, to be packed with them.
    WITH gone AS (
        DELETE FROM entity_values_packed AS p
         WHERE p.tenant_id = tenant AND p.month = month_start
           AND EXISTS (SELECT 1 FROM entity_values_ts AS e
                        WHERE e.tenant_id = p.tenant_id AND e.entity_id = p.entity_id AND e.attribute_id = p.attribute_id
                          AND e.ts >= month_start AND e.ts < month_end)
        RETURNING p.*
    )
    INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, ts, value_int, value_decimal, value_text,
                                  value_bool, value_ts, value_json, ingested_at)
    SELECT g.tenant_id, g.entity_id, g.attribute_id, u.ts, u.value_int, u.value_decimal, u.value_text,
           u.value_bool, u.value_ts, u.value_json, g.ingested_at
      FROM gone AS g
     CROSS JOIN LATERAL unnest(g.ts, g.values_int, g.values_decimal, g.values_text, g.values_bool, g.values_ts, g.values_json)
           AS u (ts, value_int, value_decimal, value_text, value_bool, value_ts, value_json);
    WITH moved AS (
        DELETE FROM entity_values_ts AS e
         WHERE e.tenant_id = tenant AND e.ts >= month_start AND e.ts < month_end
        RETURNING e.*
    ), made AS (
        INSERT INTO entity_values_packed (tenant_id, entity_id, attribute_id, month, points, first_ts, last_ts, ts,
                                          values_int, values_decimal, values_text, values_bool, values_ts, values_json,
                                          ingested_at)
        SELECT m.tenant_id, m.entity_id, m.attribute_id, month_start, count(*), min(m.ts), max(m.ts),
               array_agg(m.ts ORDER BY m.ts),
               CASE WHEN count(m.value_int) > 0 THEN array_agg(m.value_int ORDER BY m.ts) END,
               CASE WHEN count(m.value_decimal) > 0 THEN array_agg(m.value_decimal ORDER BY m.ts) END,
               CASE WHEN count(m.value_text) > 0 THEN array_agg(m.value_text ORDER BY m.ts) END,
               CASE WHEN count(m.value_bool) > 0 THEN array_agg(m.value_bool ORDER BY m.ts) END,
               CASE WHEN count(m.value_ts) > 0 THEN array_agg(m.value_ts ORDER BY m.ts) END,
               CASE WHEN count(m.value_json) > 0 THEN array_agg(m.value_json ORDER BY m.ts) END,
               max(m.ingested_at)
          FROM moved AS m
         GROUP BY m.tenant_id, m.entity_id, m.attribute_id
         ORDER BY m.tenant_id, m.entity_id, m.attribute_id
        RETURNING points
    )
    SELECT coalesce(sum(points), 0) INTO packed FROM made;
    INSERT INTO packed_months AS m (month, month_end, packed_at, points, packs)
    SELECT month_start, month_end, clock_timestamp(), sum(p.points), count(*)
      FROM entity_values_packed AS p WHERE p.month = month_start
    HAVING count(*) > 0
    ON CONFLICT ON CONSTRAINT packed_months_pkey DO UPDATE
       SET packed_at = EXCLUDED.packed_at, points = EXCLUDED.points, packs = EXCLUDED.packs;
    RETURN packed;
END
$$;
REVOKE ALL ON FUNCTION pack_month(date, bigint) FROM PUBLIC;

-- A whole month's packs back into rows (before an archive export, or to undo packing); returns
-- how many points.
CREATE FUNCTION unpack_month(month date)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    month_start timestamptz := date_trunc('month', month)::timestamp AT TIME ZONE 'UTC';
    month_end timestamptz := (date_trunc('month', month) + interval '1 month')::timestamp AT TIME ZONE 'UTC';
    tenant bigint;
    points bigint := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(7346812003);
    FOR tenant IN SELECT DISTINCT p.tenant_id FROM entity_values_packed AS p WHERE p.month = month_start LOOP
        points := points + unpack_values(tenant, NULL, NULL, month_start, month_end);
    END LOOP;
    DELETE FROM packed_months AS m WHERE m.month = month_start;
    RETURN points;
END
$$;
REVOKE ALL ON FUNCTION unpack_month(date) FROM PUBLIC;

-- Packs of months whose partition is gone (dropped past every tenant's retention, by
-- retention_drop_partition() or pg_partman): deleted, with their packed_months row; returns how
-- many packs.
CREATE FUNCTION drop_orphan_packs()
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
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
$$;
REVOKE ALL ON FUNCTION drop_orphan_packs() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION drop_orphan_packs() TO tessera_app;

-- flush_staged as in 0010, first unpacking the packs its staged points write into.
CREATE OR REPLACE FUNCTION flush_staged(only_batch bigint, only_tenant bigint)
RETURNS TABLE (moved_rows bigint, moved_batches bigint, projected_entities bigint, moved_tenants bigint[],
               projected_tenant_ids bigint[], projected_entity_ids bigint[], projected_versions bigint[], flushed_at_us bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
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
$$;

-- refresh_hourly as in 0005, reading the packed points of the hours too.
CREATE OR REPLACE FUNCTION refresh_hourly(tenant bigint, attribute_ids integer[], hours timestamptz[])
RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    DELETE FROM entity_values_hourly AS r
     USING unnest(attribute_ids, hours) AS k(attribute_id, hour)
     WHERE r.tenant_id = tenant AND r.attribute_id = k.attribute_id AND r.hour = k.hour;
    INSERT INTO entity_values_hourly (tenant_id, attribute_id, hour, count, sum, min, max, first_ts, first_value, last_ts, last_value)
    SELECT tenant, attribute_id, hour, count(*),
           coalesce(sum(value_int)::numeric, sum(value_decimal)::text::numeric),
           coalesce(min(value_int)::numeric, min(value_decimal)::text::numeric),
           coalesce(max(value_int)::numeric, max(value_decimal)::text::numeric),
           min(ts), coalesce(min(first_int)::numeric, min(first_decimal)::text::numeric),
           max(ts), coalesce(min(last_int)::numeric, min(last_decimal)::text::numeric)
      FROM (SELECT k.attribute_id, k.hour, t.ts, t.value_int, t.value_decimal,
                   first_value(t.value_int) OVER w AS first_int, first_value(t.value_decimal) OVER w AS first_decimal,
                   last_value(t.value_int) OVER w AS last_int, last_value(t.value_decimal) OVER w AS last_decimal
              FROM unnest(attribute_ids, hours) AS k(attribute_id, hour)
             CROSS JOIN LATERAL (
                   SELECT e.ts, e.value_int, e.value_decimal FROM entity_values_ts AS e
                    WHERE e.tenant_id = tenant AND e.attribute_id = k.attribute_id
                      AND e.ts >= k.hour AND e.ts < k.hour + interval '1 hour'
                   UNION ALL
                   SELECT p.ts, p.value_int, p.value_decimal
                     FROM packed_values(tenant, k.attribute_id, k.hour, k.hour + interval '1 hour') AS p) AS t
             WHERE t.value_int IS NOT NULL OR t.value_decimal IS NOT NULL
            WINDOW w AS (PARTITION BY k.attribute_id, k.hour ORDER BY t.ts ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) AS points
     GROUP BY attribute_id, hour;
$$;

-- series_points as in 0013, each month's page from its rows and its packs (each side in the page's
-- order, so a page of rows stops early as before).
CREATE OR REPLACE FUNCTION series_points(tenant bigint, entity bigint, attribute integer, from_ts timestamptz, to_ts timestamptz,
                                         after_ts timestamptz, descending boolean, max_rows integer)
RETURNS TABLE (ts timestamptz, value_int bigint, value_decimal double precision, value_text text, value_bool boolean,
               value_ts timestamptz, value_json jsonb)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    part record;
    got integer := 0;
    n integer;
    low timestamptz := greatest(from_ts, CASE WHEN descending THEN NULL ELSE after_ts END);
    high timestamptz := least(to_ts, CASE WHEN descending THEN after_ts ELSE NULL END);
BEGIN
    FOR part IN
        SELECT p.month FROM ts_partition_months() AS p
         WHERE (low IS NULL OR (p.month + interval '1 month') > low) AND (high IS NULL OR p.month <= high)
         ORDER BY CASE WHEN descending THEN NULL ELSE p.month END ASC, p.month DESC
    LOOP
        RETURN QUERY EXECUTE format(
            'SELECT t.ts, t.value_int, t.value_decimal, t.value_text, t.value_bool, t.value_ts, t.value_json
               FROM ((SELECT e.ts, e.value_int, e.value_decimal, e.value_text, e.value_bool, e.value_ts, e.value_json
                        FROM entity_values_ts AS e
                       WHERE e.ts >= %1$L AND e.ts < %2$L AND e.tenant_id = $1 AND e.entity_id = $2 AND e.attribute_id = $3
                       ORDER BY e.ts %4$s)
                     UNION ALL
                     (SELECT p.ts, p.value_int, p.value_decimal, p.value_text, p.value_bool, p.value_ts, p.value_json
                        FROM packed_values($1, $3, %1$L, %2$L) AS p
                       WHERE p.entity_id = $2
                       ORDER BY p.ts %4$s)) AS t
              WHERE ($4::timestamptz IS NULL OR t.ts >= $4) AND ($5::timestamptz IS NULL OR t.ts < $5)
                AND ($6::timestamptz IS NULL OR t.ts %3$s $6)
              ORDER BY t.ts %4$s LIMIT $7',
            part.month::timestamp AT TIME ZONE 'UTC', (part.month + interval '1 month') AT TIME ZONE 'UTC',
            CASE WHEN descending THEN '<' ELSE '>' END, CASE WHEN descending THEN 'DESC' ELSE 'ASC' END)
            USING tenant, entity, attribute, from_ts, to_ts, after_ts, max_rows - got;
        GET DIAGNOSTICS n = ROW_COUNT;
        got := got + n;
        EXIT WHEN got >= max_rows;
    END LOOP;
END
$$;

-- latest_points as in 0013, each month from its rows and its packs.
CREATE OR REPLACE FUNCTION latest_points(tenant bigint, entity bigint, attribute_ids integer[])
RETURNS TABLE (attribute_id integer, ts timestamptz, value_int bigint, value_decimal double precision, value_text text,
               value_bool boolean, value_ts timestamptz, value_json jsonb)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    part record;
    point record;
    missing integer[] := attribute_ids;
BEGIN
    FOR part IN SELECT p.month FROM ts_partition_months() AS p ORDER BY p.month DESC LOOP
        EXIT WHEN cardinality(missing) = 0;
        FOR point IN EXECUTE format(
            'SELECT DISTINCT ON (t.attribute_id) t.attribute_id, t.ts, t.value_int, t.value_decimal, t.value_text,
                    t.value_bool, t.value_ts, t.value_json
               FROM (SELECT e.attribute_id, e.ts, e.value_int, e.value_decimal, e.value_text, e.value_bool, e.value_ts, e.value_json
                       FROM entity_values_ts AS e
                      WHERE e.ts >= %1$L AND e.ts < %2$L
                        AND e.tenant_id = $1 AND e.entity_id = $2 AND e.attribute_id = ANY ($3)
                     UNION ALL
                     SELECT p.attribute_id, p.ts, p.value_int, p.value_decimal, p.value_text, p.value_bool, p.value_ts, p.value_json
                       FROM packed_values($1, NULL, %1$L, %2$L) AS p
                      WHERE p.entity_id = $2 AND p.attribute_id = ANY ($3)) AS t
              ORDER BY t.attribute_id, t.ts DESC',
            part.month::timestamp AT TIME ZONE 'UTC', (part.month + interval '1 month') AT TIME ZONE 'UTC')
            USING tenant, entity, missing
        LOOP
            attribute_id := point.attribute_id;
            ts := point.ts;
            value_int := point.value_int;
            value_decimal := point.value_decimal;
            value_text := point.value_text;
            value_bool := point.value_bool;
            value_ts := point.value_ts;
            value_json := point.value_json;
            RETURN NEXT;
            missing := array_remove(missing, point.attribute_id);
        END LOOP;
    END LOOP;
END
$$;

-- retention_delete_batch as in 0021, deleting the tenant's packs before the floor too.
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

-- retention_drop_partition as in 0021, dropping the month's packs with its partition.
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

-- retention_preview as in 0021, counting packed points too.
CREATE OR REPLACE FUNCTION public.retention_preview(tenant bigint, floor timestamp with time zone)
 RETURNS TABLE(points bigint, rollups bigint, entities bigint)
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
    SELECT (SELECT count(*) FROM entity_values_ts WHERE tenant_id = tenant AND ts < floor)
           + (SELECT count(*) FROM packed_values(tenant, NULL, '-infinity', floor)),
           (SELECT count(*) FROM entity_values_hourly WHERE tenant_id = tenant AND hour < floor),
           (SELECT count(DISTINCT p.entity_id)
              FROM entity_jsonb p CROSS JOIN LATERAL jsonb_each_text(p.attr_ts) AS kv(name, ts_us)
             WHERE p.tenant_id = tenant AND kv.ts_us::bigint < (extract(epoch FROM floor) * 1000000)::bigint)
$function$;

-- partition_maintenance as in 0023, dropping the packs of dropped months.
CREATE OR REPLACE FUNCTION public.partition_maintenance(months_ahead integer DEFAULT 4)
 RETURNS text
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
 SET "TimeZone" TO 'UTC'
 SET lock_timeout TO '200ms'
AS $function$
DECLARE
    outcome text;
    longest integer;
    keeps_all boolean;
BEGIN
    IF to_regclass('partman.part_config') IS NOT NULL
       AND has_table_privilege('partman.part_config', 'INSERT, UPDATE')
       AND has_function_privilege('partman.run_maintenance(text, boolean, boolean)', 'EXECUTE') THEN
        SELECT bool_or(t.retention_months = 0), max(t.retention_months) INTO keeps_all, longest FROM tenants AS t;
        INSERT INTO partman.part_config (parent_table, control, partition_type, partition_interval, premake, datetime_string,
                                         infinite_time_partitions, inherit_privileges, jobmon, epoch, retention_keep_table)
        VALUES ('public.entity_values_ts', 'ts', 'native', '1 mon', months_ahead, 'YYYYMM', true, true, false, 'none', false)
        ON CONFLICT (parent_table) DO NOTHING;
        UPDATE partman.part_config
           SET premake = months_ahead,
               retention = CASE WHEN keeps_all OR longest IS NULL THEN NULL ELSE (longest - 1) || ' months' END,
               retention_keep_table = false
         WHERE parent_table = 'public.entity_values_ts';
        -- Dropping a partition locks the whole table: waited for at most 200 ms (a drop queued
        -- behind a long read would hold up every write and read queued behind it), else the
        -- next run does it. Making months ahead does not stop reads or writes.
        BEGIN
            PERFORM partman.run_maintenance('public.entity_values_ts', false, false);
            outcome := 'pg_partman';
        EXCEPTION
            WHEN lock_not_available THEN
                outcome := 'pg_partman (a lock did not come within 200 ms: the next run finishes it)';
            WHEN raise_exception THEN
                -- pg_partman catches the lock timeout and raises it again as its own error.
                IF SQLERRM NOT LIKE '%lock timeout%' THEN
                    RAISE;
                END IF;
                outcome := 'pg_partman (a lock did not come within 200 ms: the next run finishes it)';
        END;
    ELSE
        PERFORM ensure_ts_partitions(date_trunc('month', now())::date, months_ahead);
        outcome := CASE WHEN to_regclass('partman.part_config') IS NULL THEN 'tessera'
                        ELSE 'tessera (pg_partman is installed, but tessera_owner may not use it)' END;
    END IF;
    -- The packs of months whose partition a drop took.
    PERFORM drop_orphan_packs();
    INSERT INTO maintenance_runs AS r (job, ran_at, outcome) VALUES ('partitions', clock_timestamp(), outcome)
    ON CONFLICT (job) DO UPDATE SET ran_at = EXCLUDED.ran_at, outcome = EXCLUDED.outcome;
    RETURN outcome;
END
$function$;
