-- Tessera schema, version 1: the data model of DESIGN.md.
-- Every table keys on tenant_id first, so the schema can later be distributed
-- by tenant (Citus) without a redesign. The heartbeat is per node, not per tenant.

CREATE TABLE tenants (
    tenant_id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                   text        NOT NULL UNIQUE,
    api_key_hash           bytea       NOT NULL UNIQUE,   -- SHA-256 of the key; the key is shown once
    api_key_prefix         text        NOT NULL,          -- first characters, for listings and logs
    auto_create_attributes boolean     NOT NULL DEFAULT true,
    retention_months       integer     NOT NULL DEFAULT 0 CHECK (retention_months >= 0),  -- 0 = forever
    max_entities           bigint      NOT NULL DEFAULT 10000000 CHECK (max_entities > 0),
    max_attributes         integer     NOT NULL DEFAULT 1000 CHECK (max_attributes > 0),
    max_points_per_second  integer     NOT NULL DEFAULT 200000 CHECK (max_points_per_second > 0),
    created_at             timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE attributes (
    tenant_id    bigint      NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    attribute_id integer GENERATED ALWAYS AS IDENTITY,
    name         text        NOT NULL,
    value_type   text        NOT NULL
                 CHECK (value_type IN ('int', 'decimal', 'text', 'bool', 'timestamp', 'json')),
    hot          boolean     NOT NULL DEFAULT false,   -- kept in entity_jsonb
    critical     boolean     NOT NULL DEFAULT false,   -- written synchronously
    unit         text,
    description  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, attribute_id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE entities (
    tenant_id    bigint      NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    entity_id    bigint GENERATED ALWAYS AS IDENTITY,
    external_key text        NOT NULL,
    entity_type  text,
    is_deleted   boolean     NOT NULL DEFAULT false,
    version      bigint      NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, entity_id),
    UNIQUE (tenant_id, external_key)
);

-- The time series: one row a value, one typed column a value type, exactly one set.
-- RANGE-partitioned by month on the point's own time (ts), so late and back-dated
-- points land in their month. There is no DEFAULT partition: partitions are made
-- ahead by ensure_ts_partitions().
CREATE TABLE entity_values_ts (
    tenant_id     bigint           NOT NULL,
    entity_id     bigint           NOT NULL,
    attribute_id  integer          NOT NULL,
    value_int     bigint,
    value_decimal double precision,
    value_text    text,
    value_bool    boolean,
    value_ts      timestamptz,
    value_json    jsonb,
    ts            timestamptz      NOT NULL,   -- the point's time
    ingested_at   timestamptz      NOT NULL DEFAULT now(),   -- arrival time
    CONSTRAINT entity_values_ts_one_value
        CHECK (num_nonnulls(value_int, value_decimal, value_text, value_bool, value_ts, value_json) = 1)
) PARTITION BY RANGE (ts);

-- The whole index set, on purpose: BRIN for time pruning, one composite btree.
CREATE INDEX entity_values_ts_ts_brin ON entity_values_ts USING brin (ts);
CREATE INDEX entity_values_ts_tenant_attribute_ts ON entity_values_ts (tenant_id, attribute_id, ts);

-- Staging for COPY: UNLOGGED and without indexes, emptied by crash recovery,
-- which is why the server keeps acknowledged batches until their flush commits.
CREATE UNLOGGED TABLE entity_values_ingest (
    tenant_id     bigint           NOT NULL,
    entity_id     bigint           NOT NULL,
    attribute_id  integer          NOT NULL,
    value_int     bigint,
    value_decimal double precision,
    value_text    text,
    value_bool    boolean,
    value_ts      timestamptz,
    value_json    jsonb,
    ts            timestamptz      NOT NULL,
    ingested_at   timestamptz      NOT NULL DEFAULT now(),
    batch_id      bigint           NOT NULL
);

-- Hot projection: the latest value of each hot attribute of an entity.
-- attrs holds the values ({"temp": 21.5}); attr_ts the time of each value in
-- microseconds since 1970 ({"temp": 1764064800123000}), which guards the upsert
-- so an older point never overwrites a newer one.
CREATE TABLE entity_jsonb (
    tenant_id  bigint      NOT NULL,
    entity_id  bigint      NOT NULL,
    attrs      jsonb       NOT NULL DEFAULT '{}',
    attr_ts    jsonb       NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, entity_id)
);
CREATE INDEX entity_jsonb_attrs_gin ON entity_jsonb USING gin (attrs jsonb_path_ops);

-- Written on the primary every ~250 ms; a replica's lag is now() minus the beat it has replayed.
CREATE TABLE heartbeat (
    node    text        PRIMARY KEY,
    beat_at timestamptz NOT NULL,
    seq     bigint      NOT NULL
) WITH (fillfactor = 50);

-- Creates the monthly partitions of entity_values_ts for month_count months from
-- first_month (UTC) that do not exist yet; returns how many it made. Serialised by
-- an advisory lock so concurrent servers cannot race on the same partition.
CREATE FUNCTION ensure_ts_partitions(first_month date, month_count integer)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    month_start date;
    partition_name text;
    made integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(7346812001);
    FOR i IN 0 .. month_count - 1 LOOP
        month_start := (date_trunc('month', first_month) + make_interval(months => i))::date;
        partition_name := 'entity_values_ts_p' || to_char(month_start, 'YYYYMM');
        IF to_regclass(partition_name) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF entity_values_ts FOR VALUES FROM (%L) TO (%L)',
                partition_name,
                month_start::timestamp AT TIME ZONE 'UTC',
                (month_start + interval '1 month')::timestamp AT TIME ZONE 'UTC'
            );
            made := made + 1;
        END IF;
    END LOOP;
    RETURN made;
END
$$;

-- Months with a partition, counting from the current month (UTC), without a gap.
CREATE FUNCTION ts_partition_months_ahead()
RETURNS integer
LANGUAGE plpgsql STABLE AS $$
DECLARE
    months integer := 0;
    month_start date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
BEGIN
    WHILE months < 120
          AND to_regclass('entity_values_ts_p' || to_char(month_start + make_interval(months => months), 'YYYYMM')) IS NOT NULL
    LOOP
        months := months + 1;
    END LOOP;
    RETURN months;
END
$$;

-- One row a check: staging backlog, partitions ahead, replica lag, bloat.
CREATE FUNCTION health_check()
RETURNS TABLE (check_name text, status text, value double precision, detail text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    backlog bigint;
    months integer;
    lag_seconds double precision;
    dead_ratio double precision;
    worst_table text;
BEGIN
    SELECT count(*) INTO backlog FROM (SELECT 1 FROM entity_values_ingest LIMIT 10000001) AS staged;
    check_name := 'staging_backlog';
    value := backlog;
    status := CASE WHEN backlog < 1000000 THEN 'ok' WHEN backlog < 10000000 THEN 'warn' ELSE 'fail' END;
    detail := backlog || ' rows waiting in entity_values_ingest';
    RETURN NEXT;

    months := ts_partition_months_ahead();
    check_name := 'partitions_ahead';
    value := months;
    status := CASE WHEN months >= 3 THEN 'ok' WHEN months >= 1 THEN 'warn' ELSE 'fail' END;
    detail := months || ' consecutive monthly partitions from the current month';
    RETURN NEXT;

    check_name := 'replica_lag';
    IF pg_is_in_recovery() THEN
        SELECT extract(epoch FROM now() - max(beat_at)) INTO lag_seconds FROM heartbeat;
        detail := 'this node is a replica; lag from the replayed heartbeat';
    ELSE
        SELECT max(extract(epoch FROM replay_lag)) INTO lag_seconds FROM pg_stat_replication;
        detail := (SELECT count(*) FROM pg_stat_replication) || ' streaming replicas; worst replay lag';
    END IF;
    value := coalesce(lag_seconds, 0);
    status := CASE WHEN lag_seconds IS NULL OR lag_seconds < 1 THEN 'ok' WHEN lag_seconds < 3 THEN 'warn' ELSE 'fail' END;
    RETURN NEXT;

    SELECT s.relname, s.n_dead_tup::double precision / (s.n_live_tup + s.n_dead_tup)
      INTO worst_table, dead_ratio
      FROM pg_stat_user_tables AS s
     WHERE s.n_live_tup + s.n_dead_tup > 1000
     ORDER BY 2 DESC
     LIMIT 1;
    check_name := 'bloat';
    value := coalesce(dead_ratio, 0);
    status := CASE WHEN dead_ratio IS NULL OR dead_ratio < 0.2 THEN 'ok' WHEN dead_ratio < 0.5 THEN 'warn' ELSE 'fail' END;
    detail := CASE WHEN worst_table IS NULL THEN 'no table large enough to judge'
                   ELSE 'highest dead-tuple share: ' || worst_table END;
    RETURN NEXT;
END
$$;
