-- The check for lost batches reads the staging table once (issue 22; BENCHMARKS.md, "The check for
-- lost batches").
--
-- After each flush the flusher asks lost_batches() which of the batches it holds, staged more than
-- 2 s ago, are neither flushed nor staged (crash recovery empties the UNLOGGED staging table). Under a
-- backlog that is most of them, and the function asked the staging table, which has no index, once
-- per batch: PostgreSQL planned a nested loop over a sequential scan. With 1,010,000 rows staged
-- (the queue's limit, reached by every overloaded load) 300 ids took 3.1 s and 600 ids, half of them
-- not staged, 37.8 s -- a core, in the flusher's loop, while the flush waited behind it. Now the ids
-- that are not flushed, less every batch id staged: one scan of the staging table, whatever the
-- number of ids (the same cases: 119 and 166 ms), each lost id once, in ascending order (the
-- flusher replays lost batches in the order named, and of two writes of one point the batch
-- replayed last wins: the older batch must go first, as the per-id scan happened to keep it).
CREATE OR REPLACE FUNCTION lost_batches(batch_ids bigint[])
RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT b FROM unnest(batch_ids) AS b
     WHERE NOT EXISTS (SELECT FROM ingest_flushed_batches AS f WHERE f.batch_id = b)
    EXCEPT
    SELECT s.batch_id FROM entity_values_ingest AS s
    ORDER BY 1
$$;
