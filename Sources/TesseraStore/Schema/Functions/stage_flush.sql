-- The 100 ms flush of everything staged: drops fenced batches' rows, then flush_staged(NULL, NULL); on a data error
-- (SQLSTATE 22, 23 but 23505, 54) flushes each (batch, tenant) alone, quarantining those that fail. One row per
-- committed move (moved_rows = -1 when another flush holds the lock); 40001 if a fenced batch got flushed.
-- Called by IngestPipeline.flushOnce (the flusher; statement StagingSQL.stageFlush).
-- Locks: pg_try_advisory_xact_lock(7346812002) (one flush at a time), then pg_advisory_xact_lock_shared(7346812003).
-- Runs as tessera_owner (SECURITY DEFINER, search_path fixed) since 0013: it crosses the tenant wall.
-- Last defined in 0010_point_identity_and_quarantine.sql (also 0002, 0004, 0005, 0006, 0007).
CREATE OR REPLACE FUNCTION public.stage_flush()
 RETURNS TABLE(moved_rows bigint, moved_batches bigint, projected_entities bigint, moved_tenants bigint[], projected_tenant_ids bigint[], projected_entity_ids bigint[], projected_versions bigint[], flushed_at_us bigint, quarantined_rows bigint)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
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
$function$;
