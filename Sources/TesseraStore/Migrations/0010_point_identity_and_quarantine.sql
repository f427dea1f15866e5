-- Tessera schema, version 10: a point is identified by (tenant, entity, attribute,
-- time), and a flush that fails on data quarantines the rows that fail it instead of
-- stopping every tenant's flush.
--
-- 1. Point identity. InfluxDB clients resend a whole batch after any 5xx or timeout,
--    and each resend stored every point again: entity_values_ts had no key. The
--    series index (tenant_id, entity_id, attribute_id, ts) becomes unique and the
--    flush upserts on it: writing a point again replaces its value (last write
--    wins, by staging time, then batch id). The rollup of an hour in which a value was
--    replaced is recomputed from the points (refresh_hourly) in the same flush, so
--    rollups stay exact. Duplicates already stored are reduced to their last write
--    here, and their hours' rollups recomputed.
--
-- 2. Quarantine. One row PostgreSQL refuses (a value the edge should have stopped, or
--    a future bug) failed the whole stage_flush(): the flusher retried the same
--    poison forever and no tenant's points were stored again. stage_flush() now tries
--    the whole move first; if it fails on data (SQLSTATE classes 22 and 23 but unique
--    violations, 54), it moves each staged (batch, tenant) on its own, and those that
--    still fail go, rows and reason, to ingest_quarantine, their batch recorded as
--    settled so the server does not replay it. `tessera quarantine list|replay|drop`
--    shows them, stages them again, or drops them; health_check() warns while any are
--    held.

-- 1. Point identity.
CREATE TEMPORARY TABLE duplicate_points ON COMMIT DROP AS
SELECT tableoid AS part, ctid AS row_ctid, tenant_id, attribute_id, date_bin('1 hour', ts, timestamptz '1970-01-01 00:00:00+00') AS hour
  FROM (SELECT tableoid, ctid, tenant_id, attribute_id, ts,
               row_number() OVER (PARTITION BY tenant_id, entity_id, attribute_id, ts ORDER BY ingested_at DESC) AS n
          FROM entity_values_ts) AS ranked
 WHERE n > 1;
DELETE FROM entity_values_ts AS t USING duplicate_points AS d WHERE t.tableoid = d.part AND t.ctid = d.row_ctid;
SELECT refresh_hourly(tenant_id, array_agg(attribute_id), array_agg(hour))
  FROM (SELECT DISTINCT tenant_id, attribute_id, hour FROM duplicate_points) AS hours
 GROUP BY tenant_id;

CREATE UNIQUE INDEX entity_values_ts_point ON entity_values_ts (tenant_id, entity_id, attribute_id, ts);
DROP INDEX entity_values_ts_entity_attribute_ts;

-- 2. Quarantine: rows a flush could not store (typed, as staged), or a request's rows
--    the staging COPY refused (copy_data, in COPY text format; typed columns null).
CREATE TABLE ingest_quarantine (
    quarantine_id  bigint           GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id      bigint           NOT NULL,
    batch_id       bigint           NOT NULL,
    entity_id      bigint,
    attribute_id   integer,
    value_int      bigint,
    value_decimal  double precision,
    value_text     text,
    value_bool     boolean,
    value_ts       timestamptz,
    value_json     jsonb,
    ts             timestamptz,
    ingested_at    timestamptz,
    copy_data      bytea,
    copy_rows      integer,
    sqlstate       text             NOT NULL,
    reason         text             NOT NULL,
    quarantined_at timestamptz      NOT NULL DEFAULT now()
);
CREATE INDEX ingest_quarantine_tenant ON ingest_quarantine (tenant_id, batch_id);

-- The flush. As in version 9, for the rows of one batch and tenant (or all of them),
-- with staged duplicates of a point reduced to the last write, an upsert into the
-- series, and the hours in which a value was replaced left out of the incremental
-- rollup and returned (replaced_*), for flush_staged() to recompute. A point is
-- replaced when the series held it before the move (a `safe` write of the same point
-- committing during the move is not seen: its hour's rollup would count it twice).
DROP FUNCTION stage_flush();
DROP FUNCTION move_staged(bigint);

CREATE FUNCTION move_staged(only_batch bigint, only_tenant bigint)
RETURNS TABLE (moved_rows bigint, moved_batches bigint, projected_entities bigint,
               moved_tenants bigint[], projected_tenant_ids bigint[], projected_entity_ids bigint[],
               projected_versions bigint[], flushed_at_us bigint,
               replaced_tenants bigint[], replaced_attributes integer[], replaced_hours timestamptz[])
LANGUAGE sql AS $$
    WITH moved AS (
        DELETE FROM entity_values_ingest
         WHERE (only_batch IS NULL OR batch_id = only_batch)
           AND (only_tenant IS NULL OR tenant_id = only_tenant)
        RETURNING *
    ), deleted AS (
        SELECT e.tenant_id, e.entity_id, e.deleted_at, e.is_deleted
          FROM entities AS e
         WHERE e.deleted_at IS NOT NULL
           AND (e.tenant_id, e.entity_id) IN (SELECT tenant_id, entity_id FROM moved)
    ), kept AS (
        -- One row a point: the last write of it (staging time, then batch id).
        SELECT DISTINCT ON (m.tenant_id, m.entity_id, m.attribute_id, m.ts) m.*
          FROM moved AS m
         WHERE NOT EXISTS (SELECT 1 FROM deleted AS d
                            WHERE d.tenant_id = m.tenant_id AND d.entity_id = m.entity_id AND m.ingested_at <= d.deleted_at)
         ORDER BY m.tenant_id, m.entity_id, m.attribute_id, m.ts, m.ingested_at DESC, m.batch_id DESC
    ), revived AS (
        UPDATE entities AS e SET is_deleted = false, version = e.version + 1, updated_at = clock_timestamp()
          FROM deleted AS d
         WHERE d.is_deleted AND e.tenant_id = d.tenant_id AND e.entity_id = d.entity_id
           AND EXISTS (SELECT 1 FROM kept AS k WHERE k.tenant_id = d.tenant_id AND k.entity_id = d.entity_id)
        RETURNING 1
    ), stored AS (
        INSERT INTO entity_values_ts AS t (tenant_id, entity_id, attribute_id, value_int, value_decimal, value_text,
                                           value_bool, value_ts, value_json, ts, ingested_at)
        SELECT tenant_id, entity_id, attribute_id, value_int, value_decimal, value_text,
               value_bool, value_ts, value_json, ts, ingested_at
          FROM kept
         ORDER BY tenant_id, entity_id, attribute_id, ts
        ON CONFLICT (tenant_id, entity_id, attribute_id, ts) DO UPDATE
           SET value_int = EXCLUDED.value_int, value_decimal = EXCLUDED.value_decimal, value_text = EXCLUDED.value_text,
               value_bool = EXCLUDED.value_bool, value_ts = EXCLUDED.value_ts, value_json = EXCLUDED.value_json,
               ingested_at = EXCLUDED.ingested_at
        RETURNING 1
    ), flushed AS (
        INSERT INTO ingest_flushed_batches (batch_id)
        SELECT DISTINCT batch_id FROM moved
        ON CONFLICT (batch_id) DO NOTHING
        RETURNING 1
    ), latest AS (
        SELECT DISTINCT ON (m.tenant_id, m.entity_id, m.attribute_id)
               m.tenant_id, m.entity_id, m.attribute_id, a.name, a.value_type,
               (extract(epoch FROM m.ts) * 1000000)::bigint AS ts_us,
               CASE WHEN m.value_int IS NOT NULL THEN to_jsonb(m.value_int)
                    WHEN m.value_decimal IS NOT NULL THEN to_jsonb(m.value_decimal)
                    WHEN m.value_text IS NOT NULL THEN to_jsonb(m.value_text)
                    WHEN m.value_bool IS NOT NULL THEN to_jsonb(m.value_bool)
                    WHEN m.value_ts IS NOT NULL THEN to_jsonb(to_char(m.value_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
                    ELSE m.value_json END AS value
          FROM kept AS m
          JOIN attributes AS a ON a.tenant_id = m.tenant_id AND a.attribute_id = m.attribute_id AND a.hot
         ORDER BY m.tenant_id, m.entity_id, m.attribute_id, m.ts DESC
    ), per_entity AS (
        SELECT tenant_id, entity_id, jsonb_object_agg(name, value) AS attrs, jsonb_object_agg(name, ts_us) AS attr_ts
          FROM latest
         GROUP BY tenant_id, entity_id
    ), projected AS (
        INSERT INTO entity_jsonb AS p (tenant_id, entity_id, attrs, attr_ts, updated_at)
        SELECT tenant_id, entity_id, attrs, attr_ts, clock_timestamp() FROM per_entity ORDER BY tenant_id, entity_id
        ON CONFLICT (tenant_id, entity_id) DO UPDATE
           SET attrs = p.attrs || coalesce((
                   SELECT jsonb_object_agg(n.key, EXCLUDED.attrs -> n.key)
                     FROM jsonb_each_text(EXCLUDED.attr_ts) AS n
                    WHERE coalesce((p.attr_ts ->> n.key)::bigint, -9223372036854775808) <= n.value::bigint), '{}'),
               attr_ts = p.attr_ts || coalesce((
                   SELECT jsonb_object_agg(n.key, n.value::bigint)
                     FROM jsonb_each_text(EXCLUDED.attr_ts) AS n
                    WHERE coalesce((p.attr_ts ->> n.key)::bigint, -9223372036854775808) <= n.value::bigint), '{}'),
               updated_at = clock_timestamp()
         WHERE EXISTS (
                   SELECT 1 FROM jsonb_each_text(EXCLUDED.attr_ts) AS n
                    WHERE coalesce((p.attr_ts ->> n.key)::bigint, -9223372036854775808) <= n.value::bigint)
        RETURNING p.tenant_id, p.entity_id, (extract(epoch FROM p.updated_at) * 1000000)::bigint AS version, p.attrs
    ), slotted AS (
        SELECT pr.tenant_id, pr.entity_id, a.number_slot, (pr.attrs -> a.name)::double precision AS value
          FROM projected AS pr
          JOIN attributes AS a ON a.tenant_id = pr.tenant_id AND a.number_slot IS NOT NULL
         WHERE jsonb_typeof(pr.attrs -> a.name) = 'number'
    ), hot_numbers AS (
        INSERT INTO entity_hot_numbers AS h (tenant_id, entity_id, n0, n1, n2, n3, n4, n5, n6, n7, n8, n9, n10, n11, n12, n13, n14, n15)
        SELECT tenant_id, entity_id,
               max(value) FILTER (WHERE number_slot = 0),
               max(value) FILTER (WHERE number_slot = 1),
               max(value) FILTER (WHERE number_slot = 2),
               max(value) FILTER (WHERE number_slot = 3),
               max(value) FILTER (WHERE number_slot = 4),
               max(value) FILTER (WHERE number_slot = 5),
               max(value) FILTER (WHERE number_slot = 6),
               max(value) FILTER (WHERE number_slot = 7),
               max(value) FILTER (WHERE number_slot = 8),
               max(value) FILTER (WHERE number_slot = 9),
               max(value) FILTER (WHERE number_slot = 10),
               max(value) FILTER (WHERE number_slot = 11),
               max(value) FILTER (WHERE number_slot = 12),
               max(value) FILTER (WHERE number_slot = 13),
               max(value) FILTER (WHERE number_slot = 14),
               max(value) FILTER (WHERE number_slot = 15)
          FROM slotted
         GROUP BY tenant_id, entity_id
         ORDER BY tenant_id, entity_id
        ON CONFLICT (tenant_id, entity_id) DO UPDATE
           SET n0 = EXCLUDED.n0, n1 = EXCLUDED.n1, n2 = EXCLUDED.n2, n3 = EXCLUDED.n3,
               n4 = EXCLUDED.n4, n5 = EXCLUDED.n5, n6 = EXCLUDED.n6, n7 = EXCLUDED.n7,
               n8 = EXCLUDED.n8, n9 = EXCLUDED.n9, n10 = EXCLUDED.n10, n11 = EXCLUDED.n11,
               n12 = EXCLUDED.n12, n13 = EXCLUDED.n13, n14 = EXCLUDED.n14, n15 = EXCLUDED.n15
         WHERE (h.n0, h.n1, h.n2, h.n3, h.n4, h.n5, h.n6, h.n7, h.n8, h.n9, h.n10, h.n11, h.n12, h.n13, h.n14, h.n15)
               IS DISTINCT FROM (EXCLUDED.n0, EXCLUDED.n1, EXCLUDED.n2, EXCLUDED.n3, EXCLUDED.n4, EXCLUDED.n5, EXCLUDED.n6, EXCLUDED.n7, EXCLUDED.n8, EXCLUDED.n9, EXCLUDED.n10, EXCLUDED.n11, EXCLUDED.n12, EXCLUDED.n13, EXCLUDED.n14, EXCLUDED.n15)
        RETURNING 1
    ), numeric_points AS (
        -- Whether the point was stored before (the statement's snapshot predates the
        -- upsert; PostgreSQL cannot return xmax from a partitioned table to tell).
        SELECT k.tenant_id, k.attribute_id, date_bin('1 hour', k.ts, timestamptz '1970-01-01 00:00:00+00') AS hour,
               k.ts, k.value_int, k.value_decimal,
               EXISTS (SELECT 1 FROM entity_values_ts AS e
                        WHERE e.tenant_id = k.tenant_id AND e.entity_id = k.entity_id
                          AND e.attribute_id = k.attribute_id AND e.ts = k.ts) AS replaced
          FROM kept AS k
         WHERE k.value_int IS NOT NULL OR k.value_decimal IS NOT NULL
    ), replaced_hours AS (
        -- Hours in which a stored value was replaced: recomputed whole by flush_staged().
        SELECT DISTINCT tenant_id, attribute_id, hour FROM numeric_points WHERE replaced
    ), hourly AS (
        SELECT tenant_id, attribute_id, hour, count(*) AS n,
               coalesce(sum(value_int)::numeric, sum(value_decimal)::text::numeric) AS s,
               coalesce(min(value_int)::numeric, min(value_decimal)::text::numeric) AS mn,
               coalesce(max(value_int)::numeric, max(value_decimal)::text::numeric) AS mx,
               min(ts) AS fts, coalesce(min(first_int)::numeric, min(first_decimal)::text::numeric) AS fv,
               max(ts) AS lts, coalesce(min(last_int)::numeric, min(last_decimal)::text::numeric) AS lv
          FROM (SELECT p.tenant_id, p.attribute_id, p.hour, p.ts, p.value_int, p.value_decimal,
                       first_value(p.value_int) OVER w AS first_int, first_value(p.value_decimal) OVER w AS first_decimal,
                       last_value(p.value_int) OVER w AS last_int, last_value(p.value_decimal) OVER w AS last_decimal
                  FROM numeric_points AS p
                 WHERE NOT EXISTS (SELECT 1 FROM replaced_hours AS r
                                    WHERE r.tenant_id = p.tenant_id AND r.attribute_id = p.attribute_id AND r.hour = p.hour)
                WINDOW w AS (PARTITION BY p.tenant_id, p.attribute_id, p.hour
                             ORDER BY p.ts ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) AS points
         GROUP BY 1, 2, 3
    ), rolled AS (
        INSERT INTO entity_values_hourly AS r
               (tenant_id, attribute_id, hour, count, sum, min, max, first_ts, first_value, last_ts, last_value)
        SELECT tenant_id, attribute_id, hour, n, s, mn, mx, fts, fv, lts, lv FROM hourly ORDER BY 1, 2, 3
        ON CONFLICT (tenant_id, attribute_id, hour) DO UPDATE
           SET count = r.count + EXCLUDED.count,
               sum = r.sum + EXCLUDED.sum,
               min = least(r.min, EXCLUDED.min),
               max = greatest(r.max, EXCLUDED.max),
               first_value = CASE WHEN EXCLUDED.first_ts < r.first_ts THEN EXCLUDED.first_value ELSE r.first_value END,
               first_ts = least(r.first_ts, EXCLUDED.first_ts),
               last_value = CASE WHEN EXCLUDED.last_ts >= r.last_ts THEN EXCLUDED.last_value ELSE r.last_value END,
               last_ts = greatest(r.last_ts, EXCLUDED.last_ts)
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM flushed), (SELECT count(*) FROM projected),
           coalesce((SELECT array_agg(DISTINCT tenant_id) FROM moved), '{}'),
           coalesce((SELECT array_agg(tenant_id ORDER BY tenant_id, entity_id) FROM projected), '{}'),
           coalesce((SELECT array_agg(entity_id ORDER BY tenant_id, entity_id) FROM projected), '{}'),
           coalesce((SELECT array_agg(version ORDER BY tenant_id, entity_id) FROM projected), '{}'),
           (extract(epoch FROM clock_timestamp()) * 1000000)::bigint,
           coalesce((SELECT array_agg(tenant_id ORDER BY tenant_id, attribute_id, hour) FROM replaced_hours), '{}'),
           coalesce((SELECT array_agg(attribute_id ORDER BY tenant_id, attribute_id, hour) FROM replaced_hours), '{}'),
           coalesce((SELECT array_agg(hour ORDER BY tenant_id, attribute_id, hour) FROM replaced_hours), '{}')
$$;

-- move_staged() and the rollups of the hours in which it replaced a value, recomputed
-- from the points (a later statement, which sees what the move stored). The `safe`
-- write path calls it for its own batch; stage_flush() for everything staged.
CREATE FUNCTION flush_staged(only_batch bigint, only_tenant bigint)
RETURNS TABLE (moved_rows bigint, moved_batches bigint, projected_entities bigint,
               moved_tenants bigint[], projected_tenant_ids bigint[], projected_entity_ids bigint[],
               projected_versions bigint[], flushed_at_us bigint)
LANGUAGE plpgsql AS $$
DECLARE
    moved record;
    tenant bigint;
BEGIN
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

-- The flush, one at a time across servers (try-lock 7346812002), not during a delete
-- (7346812003), fenced batches dropped first (version 7). One row per move that
-- committed, and quarantined_rows on the last: rows set aside because PostgreSQL
-- refused them. A data error in the move of everything sends each staged (batch,
-- tenant) through the move on its own; those that fail go to ingest_quarantine.
CREATE FUNCTION stage_flush()
RETURNS TABLE (moved_rows bigint, moved_batches bigint, projected_entities bigint,
               moved_tenants bigint[], projected_tenant_ids bigint[], projected_entity_ids bigint[],
               projected_versions bigint[], flushed_at_us bigint, quarantined_rows bigint)
LANGUAGE plpgsql AS $$
DECLARE
    part record;
    quarantined bigint := 0;
    n bigint;
    failure_state text;
    failure_message text;
BEGIN
    IF NOT pg_try_advisory_xact_lock(7346812002) THEN
        RETURN QUERY SELECT -1::bigint, 0::bigint, 0::bigint, '{}'::bigint[], '{}'::bigint[], '{}'::bigint[], '{}'::bigint[],
                            (extract(epoch FROM clock_timestamp()) * 1000000)::bigint, 0::bigint;
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock_shared(7346812003);
    IF EXISTS (SELECT 1 FROM ingest_fenced_batches) THEN
        DELETE FROM entity_values_ingest WHERE batch_id IN (SELECT batch_id FROM ingest_fenced_batches);
    END IF;
    BEGIN
        RETURN QUERY SELECT f.*, 0::bigint FROM flush_staged(NULL, NULL) AS f;
    EXCEPTION
        WHEN data_exception OR integrity_constraint_violation OR program_limit_exceeded THEN
            GET STACKED DIAGNOSTICS failure_state = RETURNED_SQLSTATE;
            IF failure_state = '23505' THEN
                RAISE;   -- a race with a concurrent writer, not bad data: the flusher retries
            END IF;
            FOR part IN SELECT DISTINCT s.batch_id, s.tenant_id FROM entity_values_ingest AS s ORDER BY 1, 2 LOOP
                BEGIN
                    RETURN QUERY SELECT f.*, 0::bigint FROM flush_staged(part.batch_id, part.tenant_id) AS f;
                EXCEPTION
                    WHEN data_exception OR integrity_constraint_violation OR program_limit_exceeded THEN
                        GET STACKED DIAGNOSTICS failure_state = RETURNED_SQLSTATE, failure_message = MESSAGE_TEXT;
                        IF failure_state = '23505' THEN
                            RAISE;
                        END IF;
                        INSERT INTO ingest_quarantine (tenant_id, batch_id, entity_id, attribute_id, value_int, value_decimal,
                                                       value_text, value_bool, value_ts, value_json, ts, ingested_at,
                                                       sqlstate, reason)
                        SELECT tenant_id, batch_id, entity_id, attribute_id, value_int, value_decimal,
                               value_text, value_bool, value_ts, value_json, ts, ingested_at,
                               failure_state, 'the flush failed: ' || failure_message
                          FROM entity_values_ingest
                         WHERE batch_id = part.batch_id AND tenant_id = part.tenant_id;
                        GET DIAGNOSTICS n = ROW_COUNT;
                        quarantined := quarantined + n;
                        DELETE FROM entity_values_ingest WHERE batch_id = part.batch_id AND tenant_id = part.tenant_id;
                        -- Settled: the server that staged it must not replay it.
                        INSERT INTO ingest_flushed_batches (batch_id) VALUES (part.batch_id) ON CONFLICT (batch_id) DO NOTHING;
                END;
            END LOOP;
    END;
    IF EXISTS (SELECT 1 FROM ingest_fenced_batches AS f JOIN ingest_flushed_batches AS b USING (batch_id)) THEN
        RAISE EXCEPTION 'a fenced batch committed during the flush; the flush is undone and retried'
              USING ERRCODE = '40001';
    END IF;
    IF quarantined > 0 THEN
        RETURN QUERY SELECT 0::bigint, 0::bigint, 0::bigint, '{}'::bigint[], '{}'::bigint[], '{}'::bigint[], '{}'::bigint[],
                            (extract(epoch FROM clock_timestamp()) * 1000000)::bigint, quarantined;
    END IF;
END
$$;

-- health_check() as in version 1, with the quarantine: warn while rows are held.
CREATE OR REPLACE FUNCTION health_check()
RETURNS TABLE (check_name text, status text, value double precision, detail text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    backlog bigint;
    months integer;
    lag_seconds double precision;
    dead_ratio double precision;
    worst_table text;
    held bigint;
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

    SELECT coalesce(sum(coalesce(copy_rows, 1)), 0) INTO held FROM ingest_quarantine;
    check_name := 'quarantine';
    value := held;
    status := CASE WHEN held = 0 THEN 'ok' ELSE 'warn' END;
    detail := CASE WHEN held = 0 THEN 'no rows in quarantine'
                   ELSE held || ' points in ingest_quarantine: see tessera quarantine list' END;
    RETURN NEXT;
END
$$;
