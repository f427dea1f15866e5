-- The number slots' keys told to the planner in pairs (issue 22; BENCHMARKS.md, "ANALYZE of the
-- number rows").
--
-- Each slot key k<i> = tenant_id * 16 + i (migration 0016) follows tenant_id, and the planner must
-- know it, or it multiplies the selectivities of `tenant_id = $1` and each `k<i> = ...` of a filter
-- and misjudges its plan (migration 0009). Three `dependencies` statistics over tenant_id and 7, 7
-- and 2 keys said so, at a price: PostgreSQL builds a dependency for every subset of an object's
-- columns and every column it may imply (1,016 for eight columns), each a sort of ANALYZE's 30,000
-- sampled rows. ANALYZE of entity_hot_numbers took 5-6 s of a core, and autovacuum runs it while
-- the flush keeps the rows changing (once in each 20- and 60-second run of the ingest benchmark). And a filter
-- on slots of two different objects (3 and 9, say) was still misjudged: the planner chains the
-- dependencies it finds, and none led from one object's keys to the other's.
--
-- A two-column object per pair of keys, and one per key with tenant_id (136 objects, 2 dependencies
-- each) give the planner a dependency between any two of the columns a filter names, so every
-- chain closes: a filter on any slots is estimated from its tenant's rows alone. ANALYZE builds 272
-- dependencies instead of 2,041 (1.1 s instead of 5-6 s on 46,000 rows); planning a filter reads
-- the objects' list (+0.03 ms).
DROP STATISTICS entity_hot_numbers_slots_0_6;
DROP STATISTICS entity_hot_numbers_slots_7_13;
DROP STATISTICS entity_hot_numbers_slots_14_15;

DO $$
BEGIN
    FOR i IN 0..15 LOOP
        EXECUTE format('CREATE STATISTICS entity_hot_numbers_tenant_k%s (dependencies) ON tenant_id, k%s FROM entity_hot_numbers', i, i);
        FOR j IN i + 1..15 LOOP
            EXECUTE format('CREATE STATISTICS entity_hot_numbers_k%s_k%s (dependencies) ON k%s, k%s FROM entity_hot_numbers', i, j, i, j);
        END LOOP;
    END LOOP;
END
$$;

ANALYZE entity_hot_numbers;
