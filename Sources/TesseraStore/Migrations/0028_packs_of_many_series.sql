-- Packs of many series (issue 22, cold storage of sparse data; BENCHMARKS.md, "Packs of many
-- series"). 0027 packed one row per (tenant, entity, attribute, month): on sparse data, where a
-- series has a point or two a month, each pack paid a row, its index entries and its array
-- headers for one point (110 bytes a value on the 2M synthetic set, InfluxDB 37.5). A pack now
-- holds whole series of one (tenant, attribute, month), consecutive by entity, until it has about
-- PACK_POINTS (1,000) points — the way TimescaleDB batches ~1,000 rows a compressed row — with
-- the entity of each point in one more array. A series is never split: a series of more points
-- is a pack of its own, as before.
--
-- The invariant of 0027 holds: a point is a row of entity_values_ts or an element of one pack.
-- A pack covers [first_entity, last_entity]; packs of one (tenant, attribute, month) may overlap
-- after late points (a repack of some series beside packs kept whole), which costs a read a
-- pack more, never a point twice. Every path that turns packs back into rows (a late point,
-- erasure, retention, archival) takes the whole pack, other series with it.
--
-- Existing packs are turned back into rows and packed again in the new shape.

CREATE TEMP TABLE packs_before ON COMMIT DROP AS
SELECT DISTINCT p.tenant_id, (p.month AT TIME ZONE 'UTC')::date AS month FROM entity_values_packed AS p;
DO $$
DECLARE
    m timestamptz;
BEGIN
    FOR m IN SELECT pm.month FROM packed_months AS pm LOOP
        PERFORM unpack_month((m AT TIME ZONE 'UTC')::date);
    END LOOP;
END
$$;

DROP FUNCTION packed_values(bigint, integer, timestamptz, timestamptz);
DROP TABLE entity_values_packed;

CREATE TABLE entity_values_packed (
    tenant_id      bigint             NOT NULL,
    attribute_id   integer            NOT NULL,
    month          timestamptz        NOT NULL,   -- the UTC month's first instant
    first_entity   bigint             NOT NULL,   -- the pack's entities are first_entity..last_entity (not all of them)
    last_entity    bigint             NOT NULL,
    points         integer            NOT NULL,
    first_ts       timestamptz        NOT NULL,
    last_ts        timestamptz        NOT NULL,
    entity_ids     bigint[]           NOT NULL,   -- one a point; the points in (entity, time) order
    ts             timestamptz[]      NOT NULL,
    values_int     bigint[],                      -- each typed array is NULL or as long as ts
    values_decimal double precision[],
    values_text    text[],
    values_bool    boolean[],
    values_ts      timestamptz[],
    values_json    jsonb[],
    ingested_at    timestamptz        NOT NULL,   -- the latest arrival time of its points
    PRIMARY KEY (tenant_id, attribute_id, month, first_entity),
    CHECK (month = date_trunc('month', month, 'UTC')),
    CHECK (first_entity <= last_entity),
    CHECK (cardinality(ts) = points AND cardinality(entity_ids) = points)
) WITH (toast_tuple_target = 128);
CREATE INDEX entity_values_packed_month ON entity_values_packed (month);
ALTER TABLE entity_values_packed
    ALTER COLUMN entity_ids SET COMPRESSION lz4,
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

-- The packed points of a tenant (some entities or all; one attribute or all) with
-- from_ts <= ts < to_ts, in the shape of entity_values_ts's rows. Inlined into the caller's
-- query (SQL, STABLE, not a definer): the entities bound first_entity in the primary key, the
-- caller's attribute condition reaches it too, and a pack without them is not unnested (its
-- entity array alone is read: an export of every attribute of a sparse entity 0.93 -> 0.46 ms
-- on the 2M synthetic set). Under the tenant wall.
CREATE FUNCTION packed_values(tenant bigint, entities bigint[], attribute integer, from_ts timestamptz, to_ts timestamptz)
RETURNS TABLE (entity_id bigint, attribute_id integer, ts timestamptz, value_int bigint, value_decimal double precision,
               value_text text, value_bool boolean, value_ts timestamptz, value_json jsonb)
LANGUAGE sql STABLE AS $$
    SELECT u.entity_id, p.attribute_id, u.ts, u.value_int, u.value_decimal, u.value_text, u.value_bool, u.value_ts, u.value_json
      FROM entity_values_packed AS p
     CROSS JOIN LATERAL unnest(p.entity_ids, p.ts, p.values_int, p.values_decimal, p.values_text, p.values_bool, p.values_ts,
                               p.values_json)
           AS u (entity_id, ts, value_int, value_decimal, value_text, value_bool, value_ts, value_json)
     WHERE p.tenant_id = tenant AND (attribute IS NULL OR p.attribute_id = attribute)
       AND p.month >= date_trunc('month', from_ts, 'UTC') AND p.month < to_ts
       AND p.last_ts >= from_ts AND p.first_ts < to_ts
       AND (entities IS NULL OR (p.first_entity <= (SELECT max(x) FROM unnest(entities) AS x)
                                 AND p.last_entity >= (SELECT min(x) FROM unnest(entities) AS x)
                                 AND p.entity_ids && entities))
       AND (entities IS NULL OR u.entity_id = ANY (entities))
       AND u.ts >= from_ts AND u.ts < to_ts
$$;
REVOKE ALL ON FUNCTION packed_values(bigint, bigint[], integer, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION packed_values(bigint, bigint[], integer, timestamptz, timestamptz) TO tessera_app;

-- The packs of a tenant (holding some entities or any; one attribute or all) with a point in
-- from_ts <= ts < to_ts back into rows, whole (their other series with them); returns how many
-- points.
CREATE OR REPLACE FUNCTION unpack_values(tenant bigint, entity_ids bigint[], attribute integer, from_ts timestamptz, to_ts timestamptz)
RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH gone AS (
        DELETE FROM entity_values_packed AS p
         WHERE p.tenant_id = tenant AND (attribute IS NULL OR p.attribute_id = attribute)
           AND p.last_ts >= from_ts AND p.first_ts < to_ts
           AND (unpack_values.entity_ids IS NULL
                OR (p.first_entity <= (SELECT max(x) FROM unnest(unpack_values.entity_ids) AS x)
                    AND p.last_entity >= (SELECT min(x) FROM unnest(unpack_values.entity_ids) AS x)
                    AND p.entity_ids && unpack_values.entity_ids))
        RETURNING p.*
    ), back AS (
        INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, ts, value_int, value_decimal, value_text,
                                      value_bool, value_ts, value_json, ingested_at)
        SELECT g.tenant_id, u.entity_id, g.attribute_id, u.ts, u.value_int, u.value_decimal, u.value_text,
               u.value_bool, u.value_ts, u.value_json, g.ingested_at
          FROM gone AS g
         CROSS JOIN LATERAL unnest(g.entity_ids, g.ts, g.values_int, g.values_decimal, g.values_text, g.values_bool,
                                   g.values_ts, g.values_json)
               AS u (entity_id, ts, value_int, value_decimal, value_text, value_bool, value_ts, value_json)
        RETURNING 1
    )
    SELECT count(*) FROM back
$$;

-- The flush's first step while a month is packed: the packs holding a series that staged points
-- write into become rows again (whole), so the move replaces and counts them as it does any
-- stored point.
CREATE OR REPLACE FUNCTION unpack_staged(only_batch bigint, only_tenant bigint)
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
         WHERE (p.tenant_id, p.attribute_id, p.month, p.first_entity) IN (
                   SELECT q.tenant_id, q.attribute_id, q.month, q.first_entity
                     FROM hit AS h
                     JOIN entity_values_packed AS q
                       ON q.tenant_id = h.tenant_id AND q.attribute_id = h.attribute_id AND q.month = h.month
                      AND q.first_entity <= h.entity_id AND q.last_entity >= h.entity_id
                    WHERE h.entity_id = ANY (q.entity_ids))
        RETURNING p.*
    ), back AS (
        INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, ts, value_int, value_decimal, value_text,
                                      value_bool, value_ts, value_json, ingested_at)
        SELECT g.tenant_id, u.entity_id, g.attribute_id, u.ts, u.value_int, u.value_decimal, u.value_text,
               u.value_bool, u.value_ts, u.value_json, g.ingested_at
          FROM gone AS g
         CROSS JOIN LATERAL unnest(g.entity_ids, g.ts, g.values_int, g.values_decimal, g.values_text, g.values_bool,
                                   g.values_ts, g.values_json)
               AS u (entity_id, ts, value_int, value_decimal, value_text, value_bool, value_ts, value_json)
        RETURNING 1
    )
    SELECT count(*) FROM back
$$;

-- Packs one tenant's rows of a past month: each attribute's series in entity order, cut into
-- packs of about 1,000 points (a series never split); packs beside which rows were written
-- since are unpacked first and packed again with them.
CREATE OR REPLACE FUNCTION pack_month(month date, tenant bigint)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    month_start timestamptz := date_trunc('month', month)::timestamp AT TIME ZONE 'UTC';
    month_end timestamptz := (date_trunc('month', month) + interval '1 month')::timestamp AT TIME ZONE 'UTC';
    pack_points constant integer := 1000;
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
    -- Packs whose entities' range holds a series with rows written since: back into rows.
    WITH gone AS (
        DELETE FROM entity_values_packed AS p
         WHERE p.tenant_id = tenant AND p.month = month_start
           AND EXISTS (SELECT 1 FROM entity_values_ts AS e
                        WHERE e.tenant_id = p.tenant_id AND e.attribute_id = p.attribute_id
                          AND e.entity_id >= p.first_entity AND e.entity_id <= p.last_entity
                          AND e.ts >= month_start AND e.ts < month_end)
        RETURNING p.*
    )
    INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, ts, value_int, value_decimal, value_text,
                                  value_bool, value_ts, value_json, ingested_at)
    SELECT g.tenant_id, u.entity_id, g.attribute_id, u.ts, u.value_int, u.value_decimal, u.value_text,
           u.value_bool, u.value_ts, u.value_json, g.ingested_at
      FROM gone AS g
     CROSS JOIN LATERAL unnest(g.entity_ids, g.ts, g.values_int, g.values_decimal, g.values_text, g.values_bool,
                               g.values_ts, g.values_json)
           AS u (entity_id, ts, value_int, value_decimal, value_text, value_bool, value_ts, value_json);
    CREATE TEMP TABLE pack_rows ON COMMIT DROP AS
    WITH moved AS (
        DELETE FROM entity_values_ts AS e
         WHERE e.tenant_id = tenant AND e.ts >= month_start AND e.ts < month_end
        RETURNING e.*
    )
    SELECT * FROM moved;
    -- Each series' pack: the points of the attribute's series before it (in entity order), in
    -- thousands.
    CREATE TEMP TABLE pack_series ON COMMIT DROP AS
    SELECT s.attribute_id, s.entity_id,
           floor(coalesce(sum(s.n) OVER (PARTITION BY s.attribute_id ORDER BY s.entity_id
                                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) / pack_points)::bigint AS pack
      FROM (SELECT r.attribute_id, r.entity_id, count(*) AS n FROM pack_rows AS r GROUP BY 1, 2) AS s;
    ANALYZE pack_rows, pack_series;
    WITH made AS (
        INSERT INTO entity_values_packed (tenant_id, attribute_id, month, first_entity, last_entity, points, first_ts, last_ts,
                                          entity_ids, ts, values_int, values_decimal, values_text, values_bool, values_ts,
                                          values_json, ingested_at)
        SELECT tenant, r.attribute_id, month_start, min(r.entity_id), max(r.entity_id), count(*), min(r.ts), max(r.ts),
               array_agg(r.entity_id ORDER BY r.entity_id, r.ts),
               array_agg(r.ts ORDER BY r.entity_id, r.ts),
               CASE WHEN count(r.value_int) > 0 THEN array_agg(r.value_int ORDER BY r.entity_id, r.ts) END,
               CASE WHEN count(r.value_decimal) > 0 THEN array_agg(r.value_decimal ORDER BY r.entity_id, r.ts) END,
               CASE WHEN count(r.value_text) > 0 THEN array_agg(r.value_text ORDER BY r.entity_id, r.ts) END,
               CASE WHEN count(r.value_bool) > 0 THEN array_agg(r.value_bool ORDER BY r.entity_id, r.ts) END,
               CASE WHEN count(r.value_ts) > 0 THEN array_agg(r.value_ts ORDER BY r.entity_id, r.ts) END,
               CASE WHEN count(r.value_json) > 0 THEN array_agg(r.value_json ORDER BY r.entity_id, r.ts) END,
               max(r.ingested_at)
          FROM pack_rows AS r
          JOIN pack_series AS s ON s.attribute_id = r.attribute_id AND s.entity_id = r.entity_id
         GROUP BY r.attribute_id, s.pack
         ORDER BY r.attribute_id, min(r.entity_id)
        RETURNING points
    )
    SELECT coalesce(sum(points), 0) INTO packed FROM made;
    DROP TABLE pack_rows, pack_series;
    INSERT INTO packed_months AS m (month, month_end, packed_at, points, packs)
    SELECT month_start, month_end, clock_timestamp(), sum(p.points), count(*)
      FROM entity_values_packed AS p WHERE p.month = month_start
    HAVING count(*) > 0
    ON CONFLICT ON CONSTRAINT packed_months_pkey DO UPDATE
       SET packed_at = EXCLUDED.packed_at, points = EXCLUDED.points, packs = EXCLUDED.packs;
    RETURN packed;
END
$$;

-- refresh_hourly as in 0027, with packed_values' entities (all).
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
                     FROM packed_values(tenant, NULL, k.attribute_id, k.hour, k.hour + interval '1 hour') AS p) AS t
             WHERE t.value_int IS NOT NULL OR t.value_decimal IS NOT NULL
            WINDOW w AS (PARTITION BY k.attribute_id, k.hour ORDER BY t.ts ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) AS points
     GROUP BY attribute_id, hour;
$$;
-- series_points as in 0027, with packed_values' entities.
CREATE OR REPLACE FUNCTION public.series_points(tenant bigint, entity bigint, attribute integer, from_ts timestamp with time zone, to_ts timestamp with time zone, after_ts timestamp with time zone, descending boolean, max_rows integer)
 RETURNS TABLE(ts timestamp with time zone, value_int bigint, value_decimal double precision, value_text text, value_bool boolean, value_ts timestamp with time zone, value_json jsonb)
 LANGUAGE plpgsql
 STABLE
AS $function$
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
                        FROM packed_values($1, ARRAY[$2], $3, %1$L, %2$L) AS p
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
$function$;

-- latest_points as in 0027, with packed_values' entities.
CREATE OR REPLACE FUNCTION public.latest_points(tenant bigint, entity bigint, attribute_ids integer[])
 RETURNS TABLE(attribute_id integer, ts timestamp with time zone, value_int bigint, value_decimal double precision, value_text text, value_bool boolean, value_ts timestamp with time zone, value_json jsonb)
 LANGUAGE plpgsql
 STABLE
AS $function$
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
                       FROM packed_values($1, ARRAY[$2], NULL, %1$L, %2$L) AS p
                      WHERE p.attribute_id = ANY ($3)) AS t
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
$function$;

-- retention_preview as in 0027, with packed_values' entities.
CREATE OR REPLACE FUNCTION public.retention_preview(tenant bigint, floor timestamp with time zone)
 RETURNS TABLE(points bigint, rollups bigint, entities bigint)
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
    SELECT (SELECT count(*) FROM entity_values_ts WHERE tenant_id = tenant AND ts < floor)
           + (SELECT count(*) FROM packed_values(tenant, NULL, NULL, '-infinity', floor)),
           (SELECT count(*) FROM entity_values_hourly WHERE tenant_id = tenant AND hour < floor),
           (SELECT count(DISTINCT p.entity_id)
              FROM entity_jsonb p CROSS JOIN LATERAL jsonb_each_text(p.attr_ts) AS kv(name, ts_us)
             WHERE p.tenant_id = tenant AND kv.ts_us::bigint < (extract(epoch FROM floor) * 1000000)::bigint)
$function$;

-- The packs of before, in the new shape.
DO $$
DECLARE
    p record;
BEGIN
    FOR p IN SELECT b.tenant_id, b.month FROM packs_before AS b ORDER BY 2, 1 LOOP
        PERFORM pack_month(p.month, p.tenant_id);
    END LOOP;
END
$$;
