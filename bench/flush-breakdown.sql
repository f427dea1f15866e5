-- Issue 22, lever 1: what each step of the flush costs (BENCHMARKS.md, "The flush, step by step").
-- Steps 1-8 (flush-breakdown-steps.sql) restate move_staged() of migration 0017 as separate
-- statements: when a migration changes move_staged(), change them with it. One trial:
--   psql "$SUPERUSER_URL" -X -v n=10000 -v trial=1 -f bench/flush-breakdown.sql 2>&1 | grep '^psql.*FBD|'
-- on the dataset of bench/flush-breakdown-setup.sql. Prints one line a measurement:
--   FBD|trial|rows staged|label|ms|WAL bytes|WAL full-page images|rows of the top plan node
-- Every measurement runs in a transaction that is rolled back, right after a CHECKPOINT (so each
-- starts with the same pages and every first touch of a page writes a full-page image, as in the
-- first flushes after a checkpoint), except "whole flush, warm", which repeats the whole flush
-- without a checkpoint (its pages already imaged: the lower bound). Timing: clock_timestamp()
-- around EXPLAIN (ANALYZE, BUFFERS, WAL, TIMING OFF); WAL bytes: pg_current_wal_insert_lsn()
-- around it; full-page images: the top plan node's WAL FPI.
\set ON_ERROR_STOP on
SET client_min_messages = notice;
SELECT set_config('fbd.trial', :'trial', false), set_config('fbd.n', :'n', false);

CREATE OR REPLACE FUNCTION pg_temp.fbd_run(label text, q text, explain boolean DEFAULT true) RETURNS void
LANGUAGE plpgsql AS $f$
DECLARE
    t0 timestamptz;
    l0 pg_lsn;
    plan json;
    fpi bigint;
    nrows bigint;
BEGIN
    l0 := pg_current_wal_insert_lsn();
    t0 := clock_timestamp();
    IF explain THEN
        EXECUTE 'EXPLAIN (ANALYZE, BUFFERS, WAL, TIMING OFF, FORMAT JSON) ' || q INTO plan;
        fpi := (plan -> 0 -> 'Plan' ->> 'WAL FPI')::bigint;
        nrows := (plan -> 0 -> 'Plan' ->> 'Actual Rows')::bigint;
    ELSE
        EXECUTE q;
    END IF;
    RAISE NOTICE 'FBD|%|%|%|%|%|%|%', current_setting('fbd.trial'), current_setting('fbd.n'), label,
        round((extract(epoch FROM clock_timestamp() - t0) * 1000)::numeric, 2),
        pg_current_wal_insert_lsn() - l0, fpi, nrows;
END
$f$;

-- A committed warm-up flush of the same shape (the hour's rollup rows and the projection's
-- recent values exist, as in a running ingest), then the trial's staged rows.
CREATE OR REPLACE FUNCTION pg_temp.fbd_stage(n int, base bigint) RETURNS void LANGUAGE sql AS $f$
    -- Batches of 1,000 points as the server stages them: one tenant a batch drawn by share
    -- (tenant 0 40%), random entity of the tenant, random attribute of 50 (a45-a49 text
    -- 'state-N', else a decimal), the batch's arrival time as ts.
    INSERT INTO entity_values_ingest (tenant_id, entity_id, attribute_id, value_decimal, value_text, ts, ingested_at, batch_id)
    SELECT t.tenant_id, t.lo + floor(random() * (t.hi - t.lo + 1))::bigint, t.attrs[p.i],
           CASE WHEN t.types[p.i] = 'decimal' THEN round((random() * 1000)::numeric, 2)::float8 END,
           CASE WHEN t.types[p.i] = 'text' THEN 'state-' || floor(random() * 16)::int END,
           b.ts, b.ts, b.batch_id
      FROM (SELECT base + g AS batch_id, clock_timestamp() + g * interval '1 ms' AS ts,
                   CASE WHEN random() < 0.4 THEN 0 ELSE 1 + floor(random() * 99)::int END AS idx
              FROM generate_series(1, n / 1000) AS g) AS b
      JOIN fbd_tenants AS t ON t.idx = b.idx
     CROSS JOIN LATERAL (SELECT 1 + floor(random() * 50 + 0 * b.batch_id)::int AS i FROM generate_series(1, 1000)) AS p;
$f$;

SELECT pg_temp.fbd_stage(:n, 800000000 + :trial * 10000);
SELECT count(*) FROM stage_flush();
SELECT pg_temp.fbd_stage(:n, 900000000 + :trial * 10000);
VACUUM ANALYZE entity_values_ingest;

-- The kept rows of this trial's staged set (no deletes or erasures in this dataset), for the
-- variants of the series insert and for the COPY peer.
DROP TABLE IF EXISTS fbd_src;
CREATE TEMP TABLE fbd_src AS
SELECT DISTINCT ON (tenant_id, entity_id, attribute_id, ts) *
  FROM entity_values_ingest ORDER BY tenant_id, entity_id, attribute_id, ts, ingested_at DESC, batch_id DESC;
COPY (SELECT tenant_id, entity_id, attribute_id, value_int, value_decimal, value_text, value_bool, value_ts, value_json, ts, ingested_at
        FROM fbd_src ORDER BY tenant_id, entity_id, attribute_id, ts) TO '/tmp/costbd-copy/kept.copy';
ANALYZE fbd_src;

-- 1. The whole flush, as the server runs it, cold (after a checkpoint) and warm (again, no checkpoint).
CHECKPOINT;
BEGIN;
SELECT pg_temp.fbd_run('whole flush, cold', 'SELECT * FROM stage_flush()');
ROLLBACK;
BEGIN;
SELECT pg_temp.fbd_run('whole flush, warm', 'SELECT * FROM stage_flush()');
ROLLBACK;

-- 2. The same flush, step by step (move_staged()'s CTEs as statements over temp tables).
CREATE TEMP TABLE IF NOT EXISTS fbd_moved (LIKE entity_values_ingest);
CREATE TEMP TABLE IF NOT EXISTS fbd_kept (LIKE entity_values_ingest);
CREATE TEMP TABLE IF NOT EXISTS fbd_numeric (tenant_id bigint, attribute_id int, hour timestamptz, ts timestamptz,
                                             value_int bigint, value_decimal float8, replaced boolean);
CREATE TEMP TABLE IF NOT EXISTS fbd_projected (tenant_id bigint, entity_id bigint, version bigint, attrs jsonb);
CHECKPOINT;
\set phase cold
\set variant 'SELECT 1'
\ir flush-breakdown-steps.sql
-- The same steps again without a checkpoint: their pages are imaged already (steady state).
\set phase warm
\ir flush-breakdown-steps.sql
-- Lever 4's variants, warm: the projection without its GIN index, or with fastupdate off; the
-- number rows with only two slots indexed (a filter on a0 and a1, as the read benchmark's).
\set phase 'warm, no GIN:'
\set variant 'DROP INDEX entity_jsonb_attrs_gin'
\ir flush-breakdown-steps.sql
\set phase 'warm, GIN fastupdate off:'
\set variant 'ALTER INDEX entity_jsonb_attrs_gin SET (fastupdate = off)'
\ir flush-breakdown-steps.sql
\set phase 'warm, slots n0 n1 indexed only:'
\set variant 'DROP INDEX entity_hot_numbers_n2, entity_hot_numbers_n3, entity_hot_numbers_n4, entity_hot_numbers_n5, entity_hot_numbers_n6, entity_hot_numbers_n7, entity_hot_numbers_n8, entity_hot_numbers_n9, entity_hot_numbers_n10, entity_hot_numbers_n11, entity_hot_numbers_n12, entity_hot_numbers_n13, entity_hot_numbers_n14, entity_hot_numbers_n15'
\ir flush-breakdown-steps.sql

-- 3. The series insert alone, with each index of entity_values_ts dropped in turn (rolled back),
--    and the peer: COPY of the same rows into the same indexed table.
\set ins 'INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, value_int, value_decimal, value_text, value_bool, value_ts, value_json, ts, ingested_at) SELECT tenant_id, entity_id, attribute_id, value_int, value_decimal, value_text, value_bool, value_ts, value_json, ts, ingested_at FROM fbd_src ORDER BY tenant_id, entity_id, attribute_id, ts'
CHECKPOINT;
BEGIN;
SELECT pg_temp.fbd_run('S1 series: ON CONFLICT DO UPDATE, 3 indexes', :'ins' || ' ON CONFLICT (tenant_id, entity_id, attribute_id, ts) DO UPDATE SET value_decimal = EXCLUDED.value_decimal, value_text = EXCLUDED.value_text, ingested_at = EXCLUDED.ingested_at');
ROLLBACK;
CHECKPOINT;
BEGIN;
SELECT pg_temp.fbd_run('S2 series: plain INSERT, 3 indexes', :'ins');
ROLLBACK;
CHECKPOINT;
BEGIN;
DROP INDEX entity_values_ts_point;
SELECT pg_temp.fbd_run('S3 series: plain INSERT, without point (tenant,entity,attr,ts)', :'ins');
ROLLBACK;
CHECKPOINT;
BEGIN;
DROP INDEX entity_values_ts_tenant_attribute_ts;
SELECT pg_temp.fbd_run('S4 series: plain INSERT, without tenant_attribute_ts', :'ins');
ROLLBACK;
CHECKPOINT;
BEGIN;
DROP INDEX entity_values_ts_ts_brin;
SELECT pg_temp.fbd_run('S5 series: plain INSERT, without BRIN', :'ins');
ROLLBACK;
CHECKPOINT;
BEGIN;
DROP INDEX entity_values_ts_point, entity_values_ts_tenant_attribute_ts, entity_values_ts_ts_brin;
SELECT pg_temp.fbd_run('S6 series: plain INSERT, no index (heap only)', :'ins');
ROLLBACK;
CHECKPOINT;
BEGIN;
SELECT pg_temp.fbd_run('S7 peer: COPY into entity_values_ts, 3 indexes', $q$
    COPY entity_values_ts (tenant_id, entity_id, attribute_id, value_int, value_decimal, value_text, value_bool, value_ts, value_json, ts, ingested_at)
    FROM '/tmp/costbd-copy/kept.copy' $q$, false);
ROLLBACK;
CHECKPOINT;
BEGIN;
DROP INDEX entity_values_ts_point, entity_values_ts_tenant_attribute_ts, entity_values_ts_ts_brin;
SELECT pg_temp.fbd_run('S8 peer: COPY into entity_values_ts, no index', $q$
    COPY entity_values_ts (tenant_id, entity_id, attribute_id, value_int, value_decimal, value_text, value_bool, value_ts, value_json, ts, ingested_at)
    FROM '/tmp/costbd-copy/kept.copy' $q$, false);
ROLLBACK;

-- Leave nothing staged for the next trial.
DELETE FROM entity_values_ingest;
