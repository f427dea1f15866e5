-- Stages station s-b's year of hourly readings (105,120 values, batch ids >= 900000) into the
-- tenant of bench/dense-move-setup.sql, whose rollups hold those hours already.
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
SELECT pg_temp.dense_stage('s-b', 900000);
