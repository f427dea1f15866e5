-- Issue 22, lever 1: the 2M synthetic dataset of `bench all --values 2M --entities 100000`
-- (ReadBenchDataset.swift), rebuilt in plain SQL for the flush cost breakdown
-- (bench/flush-breakdown.sql). Run once on a freshly migrated cluster as a superuser:
--   psql "$SUPERUSER_URL" -X -f bench/flush-breakdown-setup.sql
-- 100 tenants (tenant 0 holds 40% of entities and values), 100,000 entities, 50 attributes a
-- tenant (a0-a9 hot decimals with number slots, a45-a49 text), tenant 0's a0 with 1M points in
-- the last 30 days (10,080 of them dev-0's minute series), 1M more values over 60 days by
-- share, the projection (10 hot values an entity) and its hot numbers. No hourly rollups, as in
-- the bench's dataset.
\set ON_ERROR_STOP on
SET synchronous_commit = off;
SELECT setseed(0.42);

INSERT INTO tenants (name) SELECT 'fbd-' || i FROM generate_series(0, 99) AS i;
CREATE TABLE fbd_tenants AS
SELECT tenant_id, (row_number() OVER (ORDER BY tenant_id) - 1)::int AS idx,
       CASE WHEN row_number() OVER (ORDER BY tenant_id) = 1 THEN 0.4 ELSE 0.6 / 99 END AS share
  FROM tenants WHERE name LIKE 'fbd-%';

INSERT INTO attributes (tenant_id, name, value_type, hot)
SELECT t.tenant_id, 'a' || a, CASE WHEN a >= 45 THEN 'text' ELSE 'decimal' END, a < 10
  FROM fbd_tenants AS t, generate_series(0, 49) AS a
 ORDER BY t.tenant_id, a;

INSERT INTO entities (tenant_id, external_key)
SELECT t.tenant_id, 'dev-' || g
  FROM fbd_tenants AS t, generate_series(0, round(100000 * t.share)::int - 1) AS g;

ALTER TABLE fbd_tenants ADD lo bigint, ADD hi bigint, ADD attrs int[], ADD types text[];
UPDATE fbd_tenants AS t
   SET lo = (SELECT min(entity_id) FROM entities AS e WHERE e.tenant_id = t.tenant_id),
       hi = (SELECT max(entity_id) FROM entities AS e WHERE e.tenant_id = t.tenant_id),
       attrs = (SELECT array_agg(attribute_id ORDER BY attribute_id) FROM attributes AS a WHERE a.tenant_id = t.tenant_id),
       types = (SELECT array_agg(value_type ORDER BY attribute_id) FROM attributes AS a WHERE a.tenant_id = t.tenant_id);

SELECT ensure_ts_partitions((now() - interval '62 days')::date, 4);

-- Planted: dev-0's minute series (7 days) and tenant 0's 1M a0 points over 30 days.
INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, value_decimal, ts)
SELECT t.tenant_id, t.lo, t.attrs[1], round((random() * 1000)::numeric, 2)::float8,
       date_trunc('minute', now()) - g * interval '1 minute'
  FROM fbd_tenants AS t, generate_series(0, 7 * 1440 - 1) AS g WHERE t.idx = 0;
INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, value_decimal, ts)
SELECT t.tenant_id, t.lo + floor(random() * (t.hi - t.lo + 1))::bigint, t.attrs[1],
       round((random() * 1000)::numeric, 2)::float8, now() - random() * interval '30 days'
  FROM fbd_tenants AS t, generate_series(1, 1000000 - 7 * 1440) AS g WHERE t.idx = 0
ON CONFLICT DO NOTHING;

-- The rest: 1M values by share, any of the 50 attributes, 60 days.
INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, value_decimal, value_text, ts)
SELECT tenant_id, entity_id, attrs[i],
       CASE WHEN types[i] = 'decimal' THEN round((random() * 1000)::numeric, 2)::float8 END,
       CASE WHEN types[i] = 'text' THEN 'state-' || floor(random() * 16)::int END,
       ts
  FROM (SELECT t.tenant_id, t.attrs, t.types, t.lo + floor(random() * (t.hi - t.lo + 1))::bigint AS entity_id,
               1 + floor(random() * 50)::int AS i, now() - random() * interval '60 days' AS ts
          FROM fbd_tenants AS t, LATERAL generate_series(1, round(1000000 * t.share)::int) AS g) AS r
ON CONFLICT DO NOTHING;

-- The projection: every entity's ten hot values, and their numbers.
INSERT INTO entity_jsonb (tenant_id, entity_id, attrs, attr_ts)
SELECT e.tenant_id, e.entity_id,
       jsonb_build_object('a0', round((random() * 1000)::numeric, 2), 'a1', round((random() * 1000)::numeric, 2),
                          'a2', round((random() * 1000)::numeric, 2), 'a3', round((random() * 1000)::numeric, 2),
                          'a4', round((random() * 1000)::numeric, 2), 'a5', round((random() * 1000)::numeric, 2),
                          'a6', round((random() * 1000)::numeric, 2), 'a7', round((random() * 1000)::numeric, 2),
                          'a8', round((random() * 1000)::numeric, 2), 'a9', round((random() * 1000)::numeric, 2)),
       (SELECT jsonb_object_agg('a' || g, (extract(epoch FROM now()) * 1000000)::bigint) FROM generate_series(0, 9) AS g)
  FROM entities AS e JOIN fbd_tenants AS t USING (tenant_id)
ON CONFLICT DO NOTHING;
SELECT count(refresh_hot_numbers(tenant_id)) FROM fbd_tenants;

VACUUM ANALYZE;
CHECKPOINT;
SELECT count(*) AS values_stored FROM entity_values_ts;
