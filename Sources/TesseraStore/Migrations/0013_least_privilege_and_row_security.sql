-- Least privilege and row-level security (README: Security).
--
-- Two roles, made before this migration (the local cluster makes them; on RDS the README
-- says how): tessera_owner owns every object and runs the migrations after this one;
-- tessera_app is what the server connects as: no superuser, no BYPASSRLS, owns nothing.
--
-- The wall between tenants is row-level security on every table holding a tenant's data,
-- FORCEd (the owner is subject to it too), keyed on the transaction-local setting
-- tessera.tenant_id. A read sets it in its own statement (TenantScope in Swift); a write
-- sets it first in its transaction. With nothing set, every tenant table reads empty.
--
-- What crosses tenants (the flush, partitions, the key lookup before a tenant is known,
-- the admin's tenant operations, batch bookkeeping) is a SECURITY DEFINER function of
-- tessera_owner with a fixed search_path; its owner sees every row (policy owner_all).
--
-- The staging table cannot have row-level security: PostgreSQL refuses COPY FROM into it,
-- and one staging COPY carries several tenants' rows. tessera_app may only INSERT into it
-- (no SELECT, UPDATE or DELETE); the functions that read it are the owner's.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tessera_owner')
       OR NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tessera_app') THEN
        RAISE EXCEPTION 'The roles tessera_owner and tessera_app must exist before migration 13'
            USING HINT = 'CREATE ROLE tessera_owner NOLOGIN; CREATE ROLE tessera_app LOGIN PASSWORD ''...''; '
                      || 'GRANT tessera_owner TO <the role that migrates>; see the README, section Security.';
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'tessera_app'
                AND (rolsuper OR rolbypassrls OR rolcreaterole OR rolcreatedb OR rolreplication))
       OR pg_has_role('tessera_app', 'tessera_owner', 'MEMBER') THEN
        RAISE EXCEPTION 'tessera_app must not be a superuser, bypass row-level security, create roles or databases, '
                        'replicate, or be a member of tessera_owner';
    END IF;
END
$$;

-- Every table (partitions included), sequence, statistics object and function of the schema to tessera_owner
-- (indexes and the sequences of identity columns follow their tables; objects of
-- extensions stay theirs).
DO $$
DECLARE
    object record;
BEGIN
    FOR object IN
        SELECT c.oid::regclass AS name, c.relkind
          FROM pg_class AS c
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'S', 'v', 'm')
           AND NOT EXISTS (SELECT FROM pg_depend AS d
                            WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                              AND (d.deptype = 'e' OR (c.relkind = 'S' AND d.deptype IN ('a', 'i'))))
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO tessera_owner',
                       CASE object.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                                           WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
                       object.name);
    END LOOP;
    FOR object IN
        SELECT format('%I.%I', n.nspname, s.stxname) AS name
          FROM pg_statistic_ext AS s JOIN pg_namespace AS n ON n.oid = s.stxnamespace
         WHERE n.nspname = 'public'
    LOOP
        EXECUTE format('ALTER STATISTICS %s OWNER TO tessera_owner', object.name);
    END LOOP;
    FOR object IN
        SELECT p.oid::regprocedure AS name
          FROM pg_proc AS p
         WHERE p.pronamespace = 'public'::regnamespace
           AND NOT EXISTS (SELECT FROM pg_depend AS d
                            WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO tessera_owner', object.name);
    END LOOP;
END
$$;

-- Nobody but the owner creates in the schema; nobody else has any right on its objects
-- unless granted below (functions are executable by PUBLIC by default: not here).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO tessera_owner;
GRANT USAGE ON SCHEMA public TO tessera_app;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE tessera_owner IN SCHEMA public REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- The wall: FORCEd row-level security on every table holding a tenant's data.
DO $$
DECLARE
    tenant_table text;
BEGIN
    FOREACH tenant_table IN ARRAY ARRAY['tenants', 'attributes', 'entities', 'entity_values_ts', 'entity_jsonb',
                                        'entity_hot_numbers', 'entity_values_hourly', 'ingest_quarantine']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', tenant_table);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', tenant_table);
        -- nullif: once set and reset, an unset custom setting reads as '' rather than NULL.
        EXECUTE format($policy$
            CREATE POLICY tenant_wall ON %I
                USING (tenant_id = nullif(current_setting('tessera.tenant_id', true), '')::bigint)
                WITH CHECK (tenant_id = nullif(current_setting('tessera.tenant_id', true), '')::bigint)
            $policy$, tenant_table);
        EXECUTE format('CREATE POLICY owner_all ON %I TO tessera_owner USING (true) WITH CHECK (true)', tenant_table);
    END LOOP;
END
$$;

-- What the server reads and writes directly; tenant tables only through the wall above.
-- The monthly partitions of entity_values_ts are not granted: reads go through the parent.
GRANT SELECT ON tenants, attributes, entity_values_hourly TO tessera_app;
GRANT SELECT, INSERT, UPDATE ON entities TO tessera_app;
GRANT SELECT, DELETE ON entity_values_ts, entity_jsonb, entity_hot_numbers TO tessera_app;
GRANT INSERT ON ingest_quarantine TO tessera_app;
GRANT INSERT ON entity_values_ingest TO tessera_app;
GRANT SELECT, DELETE ON ingest_flushed_batches TO tessera_app;
GRANT SELECT, DELETE ON ingest_fenced_batches TO tessera_app;
GRANT SELECT, INSERT, UPDATE ON heartbeat TO tessera_app;
GRANT SELECT ON schema_migrations TO tessera_app;
GRANT USAGE ON SEQUENCE ingest_batch_seq TO tessera_app;

-- Reads of a month go through the parent with the month's bounds (pruned when planned),
-- so the tenant wall of entity_values_ts applies to them.
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
               FROM entity_values_ts AS t
              WHERE t.ts >= %L AND t.ts < %L
                AND t.tenant_id = $1 AND t.entity_id = $2 AND t.attribute_id = ANY ($3)
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

CREATE OR REPLACE FUNCTION series_points(tenant bigint, entity bigint, attribute integer, from_ts timestamptz,
                                         to_ts timestamptz, after_ts timestamptz, descending boolean, max_rows integer)
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
            'SELECT ts, value_int, value_decimal, value_text, value_bool, value_ts, value_json FROM entity_values_ts
              WHERE ts >= %L AND ts < %L
                AND tenant_id = $1 AND entity_id = $2 AND attribute_id = $3
                AND ($4::timestamptz IS NULL OR ts >= $4) AND ($5::timestamptz IS NULL OR ts < $5)
                AND ($6::timestamptz IS NULL OR ts %s $6)
              ORDER BY ts %s LIMIT $7',
            part.month::timestamp AT TIME ZONE 'UTC', (part.month + interval '1 month') AT TIME ZONE 'UTC',
            CASE WHEN descending THEN '<' ELSE '>' END, CASE WHEN descending THEN 'DESC' ELSE 'ASC' END)
            USING tenant, entity, attribute, from_ts, to_ts, after_ts, max_rows - got;
        GET DIAGNOSTICS n = ROW_COUNT;
        got := got + n;
        EXIT WHEN got >= max_rows;
    END LOOP;
END
$$;

-- The tenant an API key belongs to (the key's SHA-256): asked before any tenant is known.
CREATE FUNCTION tenant_by_key_hash(key_hash bytea)
RETURNS TABLE (tenant_id bigint, name text, auto_create_attributes boolean, retention_months integer,
               max_entities bigint, max_attributes integer, max_points_per_second integer, created_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT t.tenant_id, t.name, t.auto_create_attributes, t.retention_months, t.max_entities, t.max_attributes,
           t.max_points_per_second, t.created_at
      FROM tenants AS t
     WHERE t.api_key_hash = key_hash
$$;

-- The admin's tenant operations (the server checks the admin token first).
CREATE FUNCTION tenant_by_name(tenant_name text)
RETURNS TABLE (tenant_id bigint, name text, auto_create_attributes boolean, retention_months integer,
               max_entities bigint, max_attributes integer, max_points_per_second integer, created_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT t.tenant_id, t.name, t.auto_create_attributes, t.retention_months, t.max_entities, t.max_attributes,
           t.max_points_per_second, t.created_at
      FROM tenants AS t
     WHERE t.name = tenant_name
$$;

CREATE FUNCTION tenant_with_usage(tenant bigint)
RETURNS TABLE (tenant_id bigint, name text, auto_create_attributes boolean, retention_months integer,
               max_entities bigint, max_attributes integer, max_points_per_second integer, created_at timestamptz,
               entity_count bigint, attribute_count integer)
LANGUAGE sql STABLE AS $$
    SELECT t.tenant_id, t.name, t.auto_create_attributes, t.retention_months, t.max_entities, t.max_attributes,
           t.max_points_per_second, t.created_at, t.entity_count, t.attribute_count
      FROM tenants AS t
     WHERE t.tenant_id = tenant
$$;

CREATE FUNCTION create_tenant(tenant_name text, key_hash bytea, key_prefix text, auto_create boolean,
                              retention integer, entity_cap bigint, attribute_cap integer, points_per_second integer)
RETURNS TABLE (tenant_id bigint, name text, auto_create_attributes boolean, retention_months integer,
               max_entities bigint, max_attributes integer, max_points_per_second integer, created_at timestamptz)
LANGUAGE sql AS $$
    INSERT INTO tenants AS t (name, api_key_hash, api_key_prefix, auto_create_attributes, retention_months,
                              max_entities, max_attributes, max_points_per_second)
    VALUES (tenant_name, key_hash, key_prefix, auto_create, retention, entity_cap, attribute_cap, points_per_second)
    RETURNING t.tenant_id, t.name, t.auto_create_attributes, t.retention_months, t.max_entities, t.max_attributes,
              t.max_points_per_second, t.created_at
$$;

CREATE FUNCTION update_tenant(tenant bigint, auto_create boolean, retention integer, entity_cap bigint,
                              attribute_cap integer, points_per_second integer)
RETURNS TABLE (tenant_id bigint, name text, auto_create_attributes boolean, retention_months integer,
               max_entities bigint, max_attributes integer, max_points_per_second integer, created_at timestamptz,
               entity_count bigint, attribute_count integer)
LANGUAGE sql AS $$
    UPDATE tenants AS t
       SET auto_create_attributes = coalesce(auto_create, t.auto_create_attributes),
           retention_months = coalesce(retention, t.retention_months),
           max_entities = coalesce(entity_cap, t.max_entities),
           max_attributes = coalesce(attribute_cap, t.max_attributes),
           max_points_per_second = coalesce(points_per_second, t.max_points_per_second)
     WHERE t.tenant_id = tenant
    RETURNING t.tenant_id, t.name, t.auto_create_attributes, t.retention_months, t.max_entities, t.max_attributes,
              t.max_points_per_second, t.created_at, t.entity_count, t.attribute_count
$$;

CREATE FUNCTION rotate_tenant_key(tenant_name text, key_hash bytea, key_prefix text)
RETURNS TABLE (tenant_id bigint, name text, auto_create_attributes boolean, retention_months integer,
               max_entities bigint, max_attributes integer, max_points_per_second integer, created_at timestamptz)
LANGUAGE sql AS $$
    UPDATE tenants AS t SET api_key_hash = key_hash, api_key_prefix = key_prefix
     WHERE t.name = tenant_name
    RETURNING t.tenant_id, t.name, t.auto_create_attributes, t.retention_months, t.max_entities, t.max_attributes,
              t.max_points_per_second, t.created_at
$$;

-- Of these batches, those neither flushed nor staged: lost by the database (one snapshot
-- answers both). Reads the staging table, which tessera_app cannot.
CREATE FUNCTION lost_batches(batch_ids bigint[])
RETURNS SETOF bigint
LANGUAGE sql STABLE AS $$
    SELECT b FROM unnest(batch_ids) AS b
     WHERE NOT EXISTS (SELECT FROM ingest_flushed_batches AS f WHERE f.batch_id = b)
       AND NOT EXISTS (SELECT FROM entity_values_ingest AS s WHERE s.batch_id = b)
$$;

-- The owner's functions that tessera_app calls: they run as tessera_owner, with a search
-- path nobody else can write to.
DO $$
DECLARE
    definer regprocedure;
BEGIN
    FOREACH definer IN ARRAY ARRAY[
        'stage_flush()', 'flush_staged(bigint, bigint)', 'settle_staged_batch(bigint, integer)',
        'ensure_ts_partitions(date, integer)', 'refresh_hourly(bigint, integer[], timestamptz[])',
        'create_entities(bigint, text[])', 'create_attributes(bigint, text[], text[])',
        'put_attribute(bigint, text, text, boolean, boolean, text, text)',
        'tenant_by_key_hash(bytea)', 'tenant_by_name(text)', 'tenant_with_usage(bigint)',
        'create_tenant(text, bytea, text, boolean, integer, bigint, integer, integer)',
        'update_tenant(bigint, boolean, integer, bigint, integer, integer)', 'rotate_tenant_key(text, bytea, text)',
        'lost_batches(bigint[])'
    ]::regprocedure[]
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO tessera_owner', definer);
        EXECUTE format('ALTER FUNCTION %s SECURITY DEFINER SET search_path = public, pg_temp', definer);
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', definer);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO tessera_app', definer);
    END LOOP;
END
$$;

-- Invoker's functions tessera_app calls: under the wall.
ALTER FUNCTION latest_points(bigint, bigint, integer[]) OWNER TO tessera_owner;
ALTER FUNCTION series_points(bigint, bigint, integer, timestamptz, timestamptz, timestamptz, boolean, integer) OWNER TO tessera_owner;
REVOKE ALL ON FUNCTION latest_points(bigint, bigint, integer[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION series_points(bigint, bigint, integer, timestamptz, timestamptz, timestamptz, boolean, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION latest_points(bigint, bigint, integer[]) TO tessera_app;
GRANT EXECUTE ON FUNCTION series_points(bigint, bigint, integer, timestamptz, timestamptz, timestamptz, boolean, integer)
    TO tessera_app;
GRANT EXECUTE ON FUNCTION ts_partition_months() TO tessera_app;
