-- Stages one station-year of air-quality readings (a value an hour for each of 11 numbers and the
-- wind direction) as a new entity of another tenant, for bench/rollup-probe-ab.sh (the same rows as
-- bench/dense-flush-breakdown.sql). Variables: src_tenant, src_entity (readings loaded through
-- /write), dst_tenant, dst_entity (same attribute names, no points), from, to.
INSERT INTO entity_values_ingest (tenant_id, entity_id, attribute_id, value_int, value_decimal, value_text, value_bool,
                                  value_ts, value_json, ts, ingested_at, batch_id)
SELECT :dst_tenant, :dst_entity, a2.attribute_id, value_int, value_decimal, value_text, value_bool, value_ts, value_json, ts,
       now(), 900000 + (extract(epoch FROM ts)::bigint / 3600) % 30
  FROM entity_values_ts AS v
  JOIN attributes AS a1 ON a1.tenant_id = :src_tenant AND a1.attribute_id = v.attribute_id
  JOIN attributes AS a2 ON a2.tenant_id = :dst_tenant AND a2.name = a1.name
 WHERE v.tenant_id = :src_tenant AND v.entity_id = :src_entity AND ts >= :'from' AND ts < :'to';
