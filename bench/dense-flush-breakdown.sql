-- The flush of dense lines, step by step (issue 22): one station-year of air-quality readings
-- (a value an hour for each of 11 numbers and the wind direction) staged as a new entity and
-- moved by move_staged() under auto_explain, so each step's time and WAL are logged in the
-- primary's log; rolled back, so it can be repeated.
--
--   psql "$SUPERUSER_URL" -X -v src_tenant=1 -v src_entity=2 -v dst_tenant=2 -v dst_entity=6 \
--        -v from=2015-01-01Z -v to=2016-01-01Z -f bench/dense-flush-breakdown.sql
--
-- src: a tenant and entity holding the readings (loaded through /write); dst: another tenant
-- with the same attribute names and an entity with no points (create_entities()). Three trials:
-- the first right after a CHECKPOINT (cold), two warm; the plans are in the primary's log.
\timing on
INSERT INTO entity_values_ingest (tenant_id, entity_id, attribute_id, value_int, value_decimal, value_text, value_bool,
                                  value_ts, value_json, ts, ingested_at, batch_id)
SELECT :dst_tenant, :dst_entity, a2.attribute_id, value_int, value_decimal, value_text, value_bool, value_ts, value_json, ts,
       now(), 900000 + (extract(epoch FROM ts)::bigint / 3600) % 30
  FROM entity_values_ts AS v
  JOIN attributes AS a1 ON a1.tenant_id = :src_tenant AND a1.attribute_id = v.attribute_id
  JOIN attributes AS a2 ON a2.tenant_id = :dst_tenant AND a2.name = a1.name
 WHERE v.tenant_id = :src_tenant AND v.entity_id = :src_entity AND ts >= :'from' AND ts < :'to';
CHECKPOINT;
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_analyze = on;
SET auto_explain.log_buffers = on;
SET auto_explain.log_wal = on;
SET auto_explain.log_nested_statements = on;
BEGIN; SELECT moved_rows FROM move_staged(NULL, NULL); ROLLBACK;
BEGIN; SELECT moved_rows FROM move_staged(NULL, NULL); ROLLBACK;
BEGIN; SELECT moved_rows FROM move_staged(NULL, NULL); ROLLBACK;
SET auto_explain.log_min_duration = -1;
-- The same moves without instrumentation, for the whole flush's time.
BEGIN; SELECT moved_rows FROM move_staged(NULL, NULL); ROLLBACK;
BEGIN; SELECT moved_rows FROM move_staged(NULL, NULL); ROLLBACK;
BEGIN; SELECT moved_rows FROM move_staged(NULL, NULL); ROLLBACK;
DELETE FROM entity_values_ingest WHERE batch_id >= 900000;
