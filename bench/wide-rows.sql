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

\ir wide-rows-setup.sql

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
