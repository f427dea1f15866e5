-- The air-quality readings' shared set-up for bench/wide-rows.sql and bench/dense-floor.sql
-- (their .sh loads wide_aq_raw first): the tenant 'wide-aq', its 12 attributes and 6 stations,
-- the monthly partitions, the lines as EAV and as wide COPY files under /tmp/costbd-copy/,
-- :lines and :vals, and the wide layout entity_lines_ts.
CREATE OR REPLACE FUNCTION pg_temp.wide_note(line text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN RAISE NOTICE '%', line; END $f$;

-- One tenant, the 6 stations as entities, 12 attributes (11 decimals, wd text).
DELETE FROM tenants WHERE name = 'wide-aq';
INSERT INTO tenants (name) VALUES ('wide-aq');
CREATE TEMP TABLE wide_names (i int, name text, value_type text);
INSERT INTO wide_names VALUES (1, 'pm25', 'decimal'), (2, 'pm10', 'decimal'), (3, 'so2', 'decimal'), (4, 'no2', 'decimal'),
    (5, 'co', 'decimal'), (6, 'o3', 'decimal'), (7, 'temp', 'decimal'), (8, 'pres', 'decimal'), (9, 'dewp', 'decimal'),
    (10, 'rain', 'decimal'), (11, 'wd', 'text'), (12, 'wspm', 'decimal');
INSERT INTO attributes (tenant_id, name, value_type, hot)
SELECT t.tenant_id, n.name, n.value_type, true FROM tenants AS t, wide_names AS n WHERE t.name = 'wide-aq' ORDER BY n.i;
INSERT INTO entities (tenant_id, external_key)
SELECT DISTINCT t.tenant_id, r.station FROM tenants AS t, wide_aq_raw AS r WHERE t.name = 'wide-aq';
SELECT ensure_ts_partitions('2013-02-01', 50);  -- 2013-03-01 00:00 in Beijing is February in UTC

CREATE TEMP TABLE wide_ids AS
SELECT t.tenant_id, array_agg(a.attribute_id ORDER BY n.i) AS attrs
  FROM tenants AS t JOIN attributes AS a USING (tenant_id) JOIN wide_names AS n ON n.name = a.name
 WHERE t.name = 'wide-aq' GROUP BY t.tenant_id;

-- Each line once (the readings' time in UTC+8), its 12 fields, NA fields left out.
CREATE TEMP TABLE wide_lines AS
SELECT w.tenant_id, e.entity_id, make_timestamptz(r.year, r.month, r.day, r.hour, 0, 0, 'Asia/Shanghai') AS ts,
       array[r.pm25, r.pm10, r.so2, r.no2, r.co, r.o3, r.temp, r.pres, r.dewp, r.rain, NULL, r.wspm] AS nums, r.wd, w.attrs
  FROM wide_aq_raw AS r JOIN wide_ids AS w ON true
  JOIN entities AS e ON e.tenant_id = w.tenant_id AND e.external_key = r.station;

-- The EAV rows (one a value) and the wide rows (one a line), as COPY files.
COPY (SELECT l.tenant_id, l.entity_id, l.attrs[f.i], CASE WHEN f.i <> 11 THEN l.nums[f.i] END,
             CASE WHEN f.i = 11 THEN l.wd END, l.ts, l.ts
        FROM wide_lines AS l CROSS JOIN generate_series(1, 12) AS f(i)
       WHERE (f.i <> 11 AND l.nums[f.i] IS NOT NULL) OR (f.i = 11 AND l.wd IS NOT NULL)
       ORDER BY l.entity_id, l.ts, f.i) TO '/tmp/costbd-copy/aq-eav.copy';
COPY (SELECT l.tenant_id, l.entity_id, l.ts, l.ts,
             array(SELECT l.attrs[f.i] FROM generate_series(1, 12) AS f(i) WHERE f.i <> 11 AND l.nums[f.i] IS NOT NULL ORDER BY f.i),
             array(SELECT l.nums[f.i] FROM generate_series(1, 12) AS f(i) WHERE f.i <> 11 AND l.nums[f.i] IS NOT NULL ORDER BY f.i),
             l.wd
        FROM wide_lines AS l ORDER BY l.entity_id, l.ts) TO '/tmp/costbd-copy/aq-wide.copy';
SELECT count(*) AS lines, (SELECT count(*) FROM wide_lines, generate_series(1, 12) AS f(i)
                            WHERE (f.i <> 11 AND nums[f.i] IS NOT NULL) OR (f.i = 11 AND wd IS NOT NULL)) AS vals
  FROM wide_lines \gset

-- The wide layout: one row a line; the attribute ids of its numbers and the numbers, in the
-- same order, then the text field (wd); the identity (tenant, entity, ts) unique; BRIN on time. Monthly partitions.
DROP TABLE IF EXISTS entity_lines_ts;
CREATE TABLE entity_lines_ts (
    tenant_id bigint NOT NULL, entity_id bigint NOT NULL, ts timestamptz NOT NULL, ingested_at timestamptz NOT NULL,
    attribute_ids integer[] NOT NULL, numbers double precision[], wd text
) PARTITION BY RANGE (ts);
DO $$
DECLARE m timestamptz;
BEGIN
    FOR m IN SELECT generate_series(timestamptz '2013-02-01 00:00+00', timestamptz '2017-03-01 00:00+00', interval '1 month') LOOP
        EXECUTE format('CREATE TABLE entity_lines_ts_%s PARTITION OF entity_lines_ts FOR VALUES FROM (%L) TO (%L)',
                       to_char(m AT TIME ZONE 'UTC', 'YYYYMM'), m, m + interval '1 month');
    END LOOP;
END $$;
CREATE UNIQUE INDEX entity_lines_ts_point ON entity_lines_ts (tenant_id, entity_id, ts);
CREATE INDEX entity_lines_ts_brin ON entity_lines_ts USING brin (ts);
