-- Issue 22, lever 3 (bench/wide-rows.sh loads wide_aq_raw first): the same readings as EAV
-- rows and as wide rows, loaded by COPY (each trial right after a CHECKPOINT, rolled back),
-- then kept for sizes and reads. Prints WIDE|trial|label|ms|rows|values|WAL bytes.
\set ON_ERROR_STOP on
SET client_min_messages = notice;

CREATE OR REPLACE FUNCTION pg_temp.wide_run(trial int, label text, q text, nrows bigint, nvalues bigint) RETURNS void
LANGUAGE plpgsql AS $f$
DECLARE t0 timestamptz; l0 pg_lsn;
BEGIN
    l0 := pg_current_wal_insert_lsn();
    t0 := clock_timestamp();
    EXECUTE q;
    RAISE NOTICE 'WIDE|%|%|%|%|%|%', trial, label,
        round((extract(epoch FROM clock_timestamp() - t0) * 1000)::numeric, 2), nrows, nvalues, pg_current_wal_insert_lsn() - l0;
END
$f$;

CREATE OR REPLACE FUNCTION pg_temp.wide_note(line text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN RAISE NOTICE '%', line; END $f$;

CREATE OR REPLACE FUNCTION pg_temp.wide_read(label text, q text) RETURNS void LANGUAGE plpgsql AS $f$
DECLARE t0 timestamptz; ms double precision[] := '{}'; n bigint;
BEGIN
    FOR i IN 1..21 LOOP
        t0 := clock_timestamp();
        EXECUTE 'SELECT count(*) FROM (' || q || ') AS r' INTO n;
        ms := ms || extract(epoch FROM clock_timestamp() - t0) * 1000;
    END LOOP;
    RAISE NOTICE 'WIDE|0|%|%|%|0|0', label, round((SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(ms) AS x)::numeric, 2), n;
END $f$;

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

-- Loads, alternating, each rolled back.
\set eav 'COPY entity_values_ts (tenant_id, entity_id, attribute_id, value_decimal, value_text, ts, ingested_at) FROM ''/tmp/costbd-copy/aq-eav.copy'''
\set wide 'COPY entity_lines_ts (tenant_id, entity_id, ts, ingested_at, attribute_ids, numbers, wd) FROM ''/tmp/costbd-copy/aq-wide.copy'''
\set trial 1
\ir wide-rows-trial.sql
\set trial 2
\ir wide-rows-trial.sql
\set trial 3
\ir wide-rows-trial.sql

-- Kept: sizes and the reads that follow.
SELECT pg_temp.wide_run(0, 'load EAV (kept)', :'eav', :lines, :vals);
SELECT pg_temp.wide_run(0, 'load wide (kept)', :'wide', :lines, :vals);
-- VACUUM FULL: the rolled-back trials leave dead rows in both layouts; sizes are of the kept rows.
VACUUM (FULL, ANALYZE) entity_values_ts, entity_lines_ts;
SELECT sum(pg_total_relation_size(c.oid)) AS eav_bytes FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'entity_values_ts'::regclass AND c.relname ~ '_p(2013|2014|2015|2016|2017)' \gset
SELECT sum(pg_total_relation_size(c.oid)) AS wide_bytes FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'entity_lines_ts'::regclass \gset
SELECT pg_temp.wide_note(format('WIDE|0|bytes a value, EAV (heap, indexes, TOAST)|%s|%s|%s|0', round(:eav_bytes::numeric / :vals, 1), :lines, :vals));
SELECT pg_temp.wide_note(format('WIDE|0|bytes a value, wide|%s|%s|%s|0', round(:wide_bytes::numeric / :vals, 1), :lines, :vals));

-- Reads (median ms of 21 runs each): one station's daily PM2.5 over 2016, its 7-day PM2.5
-- series, and the hourly PM2.5 average of every station over a month.
SELECT w.tenant_id AS tid, w.attrs[1] AS pm25, (SELECT min(entity_id) FROM entities AS e WHERE e.tenant_id = w.tenant_id) AS eid
  FROM wide_ids AS w \gset
SELECT pg_temp.wide_read('read daily PM2.5 of a station over 2016, EAV', format(
    $q$SELECT date_trunc('day', ts), avg(value_decimal) FROM entity_values_ts WHERE tenant_id = %s AND entity_id = %s
          AND attribute_id = %s AND ts >= '2016-01-01' AND ts < '2017-01-01' GROUP BY 1$q$, :tid, :eid, :pm25));
SELECT pg_temp.wide_read('read daily PM2.5 of a station over 2016, wide', format(
    $q$SELECT date_trunc('day', ts), avg(numbers[array_position(attribute_ids, %s)]) FROM entity_lines_ts
        WHERE tenant_id = %s AND entity_id = %s AND ts >= '2016-01-01' AND ts < '2017-01-01' GROUP BY 1$q$, :pm25, :tid, :eid));
SELECT pg_temp.wide_read('read 7-day PM2.5 series of a station, EAV', format(
    $q$SELECT ts, value_decimal FROM entity_values_ts WHERE tenant_id = %s AND entity_id = %s AND attribute_id = %s
          AND ts >= '2016-06-01' AND ts < '2016-06-08' ORDER BY ts$q$, :tid, :eid, :pm25));
SELECT pg_temp.wide_read('read 7-day PM2.5 series of a station, wide', format(
    $q$SELECT ts, numbers[array_position(attribute_ids, %s)] FROM entity_lines_ts WHERE tenant_id = %s AND entity_id = %s
          AND ts >= '2016-06-01' AND ts < '2016-06-08' AND %s = ANY (attribute_ids) ORDER BY ts$q$, :pm25, :tid, :eid, :pm25));
SELECT pg_temp.wide_read('read hourly PM2.5 of all stations over a month, EAV', format(
    $q$SELECT date_trunc('hour', ts), avg(value_decimal) FROM entity_values_ts WHERE tenant_id = %s
          AND attribute_id = %s AND ts >= '2016-06-01' AND ts < '2016-07-01' GROUP BY 1$q$, :tid, :pm25));
SELECT pg_temp.wide_read('read hourly PM2.5 of all stations over a month, wide', format(
    $q$SELECT date_trunc('hour', ts), avg(numbers[array_position(attribute_ids, %s)]) FROM entity_lines_ts
        WHERE tenant_id = %s AND ts >= '2016-06-01' AND ts < '2016-07-01' GROUP BY 1$q$, :pm25, :tid));
