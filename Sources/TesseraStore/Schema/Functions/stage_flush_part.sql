-- One part of a flush in several sessions: the given batches (batch_ids and tenant_ids are pairs: a batch once for
-- each tenant it holds) of the tenants it could lock; drops fenced batches' rows among them, unpack_staged() of them
-- while a month is packed, then move_staged() of them; on a data error (SQLSTATE 22, 23 but 23505, 54) flushes each
-- (batch, tenant) alone, quarantining those that fail. A batch staged after the flusher listed the parts waits for
-- the next flush. One row per committed move (moved_rows = -1 when other flushes hold every tenant of the part, or
-- the single-session stage_flush() or a settle holds the flush lock); 40001 if a fenced batch got flushed; 22023 if
-- the arrays are not pairs (lengths differ, or a NULL).
-- Called by IngestPipeline.flushOnce (the flusher, statement StagingSQL.stageFlushPart), one session a part, at once.
-- Locks: pg_try_advisory_xact_lock_shared(7346812002) (the flush lock, shared between parts), a try-lock per tenant
-- pg_try_advisory_xact_lock(7346812, tenant) (one flush a tenant), then pg_advisory_xact_lock_shared(7346812003).
-- Runs as tessera_owner (SECURITY DEFINER, search_path fixed): it crosses the tenant wall.
-- Last defined in 0038_flush_in_parallel_sessions.sql.
CREATE OR REPLACE FUNCTION public.stage_flush_part(batch_ids bigint[], tenant_ids bigint[])
 RETURNS TABLE(moved_rows bigint, moved_batches bigint, projected_entities bigint, moved_tenants bigint[], projected_tenant_ids bigint[], projected_entity_ids bigint[], projected_versions bigint[], flushed_at_us bigint, quarantined_rows bigint)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
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
$function$;
