-- Issue 22: a dense writer's flush at the database, for bench/move-variant-ab.sh and
-- bench/rollup-fillfactor-ab.sh with bench/dense-move-stage.sql. Run once on a migrated cluster as a
-- superuser (psql "$SUPERUSER_URL" -X -f bench/dense-move-setup.sql): tenant `dense` with 11 decimal
-- attributes and a text one (the air-quality readings' shape: f0-f10, f11 the wind direction), all
-- hot; stations s-a and s-c hold a value an hour for each of them over 2015 (stored by move_staged(),
-- so the hours' rollups exist), s-b has none: the staged year of s-b updates every rollup row.
\set ON_ERROR_STOP on
SET synchronous_commit = off;
SELECT setseed(0.7);
INSERT INTO tenants (name) VALUES ('dense');
INSERT INTO attributes (tenant_id, name, value_type, hot)
SELECT t.tenant_id, 'f' || a, CASE WHEN a = 11 THEN 'text' ELSE 'decimal' END, true
  FROM tenants AS t, generate_series(0, 11) AS a WHERE t.name = 'dense' ORDER BY a;
INSERT INTO entities (tenant_id, external_key) SELECT tenant_id, k FROM tenants, unnest('{s-a,s-b,s-c}'::text[]) AS k WHERE name = 'dense';
SELECT ensure_ts_partitions('2015-01-01', 14);
CREATE OR REPLACE FUNCTION pg_temp.dense_stage(station text, base bigint) RETURNS void LANGUAGE sql AS $f$
    INSERT INTO entity_values_ingest (tenant_id, entity_id, attribute_id, value_decimal, value_text, ts, ingested_at, batch_id)
    SELECT e.tenant_id, e.entity_id, a.attribute_id,
           CASE WHEN a.value_type = 'decimal' THEN round((random() * 300)::numeric, 1)::float8 END,
           CASE WHEN a.value_type = 'text' THEN (ARRAY['N','NE','E','SE','S','SW','W','NW'])[1 + floor(random() * 8)::int] END,
           h, now(), base + (extract(epoch FROM h)::bigint / 3600) % 30
      FROM entities AS e JOIN tenants AS t ON t.tenant_id = e.tenant_id AND t.name = 'dense'
      JOIN attributes AS a ON a.tenant_id = e.tenant_id
     CROSS JOIN generate_series(timestamptz '2015-01-01Z', timestamptz '2015-12-31 23:00Z', interval '1 hour') AS h
     WHERE e.external_key = station;
$f$;
SELECT pg_temp.dense_stage('s-a', 700000);
SELECT moved_rows FROM move_staged(NULL, NULL, NULL);
SELECT pg_temp.dense_stage('s-c', 710000);
SELECT moved_rows FROM move_staged(NULL, NULL, NULL);
SELECT count(*) AS rollup_rows FROM entity_values_hourly r JOIN tenants t USING (tenant_id) WHERE t.name = 'dense';
