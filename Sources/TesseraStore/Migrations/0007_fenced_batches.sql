-- Tessera schema, version 7: a batch answered with a 503 is never stored.
--
-- A staging COPY the server gave up on (past its deadline, or its connection lost)
-- may still be in PostgreSQL's hands and commit later. Its points were answered
-- with a 503, so the client sends them again; had the first COPY committed too, they
-- were stored twice. Before answering, the server now settles the batch with
-- settle_staged_batch(): under the flush lock, so no flush moves anything meanwhile,
-- a batch already staged or flushed is acknowledged after all; any other is fenced,
-- and stage_flush() deletes the rows of fenced batches, whenever they commit, without
-- storing them. (A fenced batch is never in ingest_flushed_batches: nothing flushed
-- it before it was fenced, and after, a flush that moved it rolls back.)
CREATE TABLE ingest_fenced_batches (
    batch_id   bigint      PRIMARY KEY,
    fenced_at  timestamptz NOT NULL DEFAULT now()
);

-- True: the batch was committed (staged or flushed); acknowledge it. False: it was
-- not, and it never will be stored. Waits for a flush under way, at most wait_ms (then
-- fails, and fences nothing: the caller has given up by then).
CREATE FUNCTION settle_staged_batch(batch bigint, wait_ms integer) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('lock_timeout', wait_ms::text, true);
    PERFORM pg_advisory_xact_lock(7346812002);
    -- A new snapshot (READ COMMITTED, next statement): every flush before the lock is in it.
    IF EXISTS (SELECT 1 FROM ingest_flushed_batches WHERE batch_id = batch)
       OR EXISTS (SELECT 1 FROM entity_values_ingest WHERE batch_id = batch) THEN
        RETURN true;
    END IF;
    INSERT INTO ingest_fenced_batches (batch_id) VALUES (batch) ON CONFLICT (batch_id) DO NOTHING;
    RETURN false;
END
$$;

CREATE OR REPLACE FUNCTION stage_flush()
RETURNS TABLE (moved_rows bigint, moved_batches bigint, projected_entities bigint,
               moved_tenants bigint[], projected_tenant_ids bigint[], projected_entity_ids bigint[],
               projected_versions bigint[], flushed_at_us bigint)
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock(7346812002) THEN
        RETURN QUERY SELECT -1::bigint, 0::bigint, 0::bigint, '{}'::bigint[], '{}'::bigint[], '{}'::bigint[], '{}'::bigint[],
                            (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
        RETURN;
    END IF;
    -- Not while an entity is being deleted; the move below sees the delete committed.
    PERFORM pg_advisory_xact_lock_shared(7346812003);
    -- Rows of batches answered with a 503 that committed after all: dropped, not stored.
    IF EXISTS (SELECT 1 FROM ingest_fenced_batches) THEN
        DELETE FROM entity_values_ingest WHERE batch_id IN (SELECT batch_id FROM ingest_fenced_batches);
    END IF;
    RETURN QUERY SELECT * FROM move_staged(NULL);
    -- The move is a statement of its own, with a later snapshot than the DELETE: a fenced
    -- batch whose COPY committed in between was moved with the rest. The whole flush is
    -- then undone (the flusher retries; the next flush's DELETE takes those rows first).
    IF EXISTS (SELECT 1 FROM ingest_fenced_batches AS f JOIN ingest_flushed_batches AS b USING (batch_id)) THEN
        RAISE EXCEPTION 'a fenced batch committed during the flush; the flush is undone and retried'
              USING ERRCODE = '40001';
    END IF;
END
$$;
