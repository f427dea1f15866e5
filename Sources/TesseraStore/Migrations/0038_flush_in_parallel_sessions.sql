-- The flush in two sessions, over batches of one tenant each (issue 22, lever 5; BENCHMARKS.md,
-- "Two flush sessions, over batches of one tenant").
--
-- One backend ran every flush, so a backlog drained on one core while the other sat idle. Tried on
-- 2026-12-05 (0026, reverted): the writers staged a group of several tenants' requests as one
-- batch, so two sessions split by tenant both moved rows of the same batches and both marked them
-- flushed -- the second waited on the first's mark, and a batch could be confirmed by one part
-- while the other part's rows of it were still staged. Now the server stages each tenant of a
-- group under a batch id of its own, so a batch holds one tenant and a part of a flush holds
-- whole batches: it moves them, marks them, and nothing of them is left to another part.
--
-- The server lists the staged (batch, tenant) pairs (staged_batches()), splits the tenants in
-- parts by staged rows (a batch that still holds several tenants, staged by an older server,
-- puts its tenants in one part), and runs stage_flush_part(batches, tenants) for each part at
-- once on connections of their own. A part takes the flush lock shared (settle_staged_batch()
-- and the single-session stage_flush() take it exclusively, so neither runs beside a part), and
-- a try-lock per tenant (two-key, 7346812 and the tenant id): two servers' parts never move one
-- tenant at once, and a batch moves only when every tenant it holds was locked. It moves only
-- the batches it was given: one staged since the list waits for the next flush. Concurrent parts
-- write disjoint rows: the series, the projection, the number rows, the rollups and their
-- recompute are keyed by tenant, and each batch's flushed mark is written by one part.

-- The staged batches, each with its tenants and rows: what the flusher splits.
CREATE FUNCTION staged_batches()
RETURNS TABLE(batch_id bigint, tenant_id bigint, staged_rows bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT s.batch_id, s.tenant_id, count(*) FROM entity_values_ingest AS s GROUP BY 1, 2 ORDER BY 1, 2
$$;
REVOKE ALL ON FUNCTION staged_batches() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION staged_batches() TO tessera_app;

-- unpack_staged() also for a list of batches (a part's).
DROP FUNCTION unpack_staged(bigint, bigint);
CREATE FUNCTION unpack_staged(only_batch bigint, only_tenant bigint, only_batches bigint[] DEFAULT NULL)
RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH hit AS (
        SELECT DISTINCT s.tenant_id, s.entity_id, s.attribute_id, date_trunc('month', s.ts, 'UTC') AS month
          FROM entity_values_ingest AS s
         WHERE (only_batch IS NULL OR s.batch_id = only_batch)
           AND (only_tenant IS NULL OR s.tenant_id = only_tenant)
           AND (only_batches IS NULL OR s.batch_id = ANY (only_batches))
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
REVOKE ALL ON FUNCTION unpack_staged(bigint, bigint, bigint[]) FROM PUBLIC;

-- One part of a flush in several sessions: the given batches (pairs with tenant_ids: a batch
-- once for each tenant it holds), of the tenants this flush could lock. Returns what
-- stage_flush() returns: moved_rows = -1 when other flushes hold every tenant of the part.
CREATE FUNCTION stage_flush_part(batch_ids bigint[], tenant_ids bigint[])
RETURNS TABLE(moved_rows bigint, moved_batches bigint, projected_entities bigint, moved_tenants bigint[],
              projected_tenant_ids bigint[], projected_entity_ids bigint[], projected_versions bigint[],
              flushed_at_us bigint, quarantined_rows bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    tenant bigint;
    held bigint[] := '{}';
    batches bigint[];
    part record;
    quarantined bigint := 0;
    n bigint;
    failure_state text;
    failure_message text;
BEGIN
    IF batch_ids IS NULL OR tenant_ids IS NULL OR cardinality(batch_ids) <> cardinality(tenant_ids)
       OR array_position(batch_ids, NULL) IS NOT NULL OR array_position(tenant_ids, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'stage_flush_part() takes (batch, tenant) pairs: two arrays of one length, without NULL'
              USING ERRCODE = '22023';
    END IF;
    IF NOT pg_try_advisory_xact_lock_shared(7346812002) THEN
        RETURN QUERY SELECT -1::bigint, 0::bigint, 0::bigint, '{}'::bigint[], '{}'::bigint[], '{}'::bigint[], '{}'::bigint[],
                            (extract(epoch FROM clock_timestamp()) * 1000000)::bigint, 0::bigint;
        RETURN;
    END IF;
    FOR tenant IN SELECT DISTINCT t FROM unnest(tenant_ids) AS t ORDER BY 1 LOOP
        IF pg_try_advisory_xact_lock(7346812, (tenant % 2147483647)::integer) THEN
            held := held || tenant;
        END IF;
    END LOOP;
    SELECT coalesce(array_agg(DISTINCT p.b ORDER BY p.b), '{}') INTO batches
      FROM unnest(batch_ids, tenant_ids) AS p (b, t)
     WHERE NOT EXISTS (SELECT 1 FROM unnest(batch_ids, tenant_ids) AS q (b, t) WHERE q.b = p.b AND q.t <> ALL (held));
    IF cardinality(held) = 0 AND cardinality(tenant_ids) > 0 THEN
        RETURN QUERY SELECT -1::bigint, 0::bigint, 0::bigint, '{}'::bigint[], '{}'::bigint[], '{}'::bigint[], '{}'::bigint[],
                            (extract(epoch FROM clock_timestamp()) * 1000000)::bigint, 0::bigint;
        RETURN;
    END IF;
    IF cardinality(batches) = 0 THEN
        RETURN QUERY SELECT 0::bigint, 0::bigint, 0::bigint, '{}'::bigint[], '{}'::bigint[], '{}'::bigint[], '{}'::bigint[],
                            (extract(epoch FROM clock_timestamp()) * 1000000)::bigint, 0::bigint;
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock_shared(7346812003);
    IF EXISTS (SELECT 1 FROM ingest_fenced_batches AS f WHERE f.batch_id = ANY (batches)) THEN
        DELETE FROM entity_values_ingest AS s
         WHERE s.batch_id = ANY (batches) AND s.batch_id IN (SELECT f.batch_id FROM ingest_fenced_batches AS f);
    END IF;
    BEGIN
        IF EXISTS (SELECT 1 FROM packed_months) THEN
            PERFORM unpack_staged(NULL, NULL, batches);
        END IF;
        RETURN QUERY SELECT f.*, 0::bigint FROM move_staged(NULL, NULL, batches) AS f;
    EXCEPTION
        WHEN data_exception OR integrity_constraint_violation OR program_limit_exceeded THEN
            GET STACKED DIAGNOSTICS failure_state = RETURNED_SQLSTATE;
            IF failure_state = '23505' THEN
                RAISE;   -- a race with a concurrent writer, not bad data: the flusher retries
            END IF;
            FOR part IN SELECT DISTINCT s.batch_id, s.tenant_id FROM entity_values_ingest AS s
                         WHERE s.batch_id = ANY (batches) ORDER BY 1, 2 LOOP
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
                        SELECT s.tenant_id, s.batch_id, s.entity_id, s.attribute_id, s.value_int, s.value_decimal,
                               s.value_text, s.value_bool, s.value_ts, s.value_json, s.ts, s.ingested_at,
                               failure_state, 'the flush failed: ' || failure_message
                          FROM entity_values_ingest AS s
                         WHERE s.batch_id = part.batch_id AND s.tenant_id = part.tenant_id;
                        GET DIAGNOSTICS n = ROW_COUNT;
                        quarantined := quarantined + n;
                        DELETE FROM entity_values_ingest AS s WHERE s.batch_id = part.batch_id AND s.tenant_id = part.tenant_id;
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
REVOKE ALL ON FUNCTION stage_flush_part(bigint[], bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stage_flush_part(bigint[], bigint[]) TO tessera_app;

-- Settles the batches of one failed staging write (a group of several tenants' requests, a batch
-- a tenant, committed or not together): true if it committed (any of them staged or flushed),
-- else every one of them fenced and false. As settle_staged_batch(), under the flush lock.
CREATE FUNCTION settle_staged_batches(batch_ids bigint[], wait_ms integer)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM set_config('lock_timeout', wait_ms::text, true);
    PERFORM pg_advisory_xact_lock(7346812002);
    -- A new snapshot (READ COMMITTED, next statement): every flush before the lock is in it.
    IF EXISTS (SELECT 1 FROM ingest_flushed_batches AS f WHERE f.batch_id = ANY (batch_ids))
       OR EXISTS (SELECT 1 FROM entity_values_ingest AS s WHERE s.batch_id = ANY (batch_ids)) THEN
        RETURN true;
    END IF;
    INSERT INTO ingest_fenced_batches (batch_id) SELECT DISTINCT b FROM unnest(batch_ids) AS b ON CONFLICT (batch_id) DO NOTHING;
    RETURN false;
END
$$;
REVOKE ALL ON FUNCTION settle_staged_batches(bigint[], integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION settle_staged_batches(bigint[], integer) TO tessera_app;
