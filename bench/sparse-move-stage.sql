-- Stages 10,000 points of the sparse 2M synthetic dataset (bench/flush-breakdown-setup.sql) the way
-- bench/flush-breakdown.sql does, under batch ids >= 900000, for bench/move-variant-ab.sh and
-- bench/rollup-fillfactor-ab.sh (the same as bench/rollup-probe-stage-sparse.sql with n = 10000).
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
SELECT pg_temp.fbd_stage(10000, 900000);
