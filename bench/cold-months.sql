-- Issue 22, lever 6 (bench/cold-months.sh loads cold_aq_raw first): the air-quality readings as
-- EAV rows, then every month packed into one row per (tenant, entity, attribute, month) of
-- arrays, three encodings side by side; sizes, the time to pack, and the reads of a cold month
-- (June 2016) on the rows and on each packing. Prints COLD|label|figure|... lines.
\set ON_ERROR_STOP on
SET client_min_messages = notice;

\ir cold-months-helpers.sql

CREATE OR REPLACE FUNCTION pg_temp.cold_time(label text, q text) RETURNS void LANGUAGE plpgsql AS $f$
DECLARE t0 timestamptz := clock_timestamp(); l0 pg_lsn := pg_current_wal_insert_lsn();
BEGIN
    EXECUTE q;
    RAISE NOTICE 'COLD|%|% ms|WAL % B', label,
        round((extract(epoch FROM clock_timestamp() - t0) * 1000)::numeric, 1), pg_current_wal_insert_lsn() - l0;
END $f$;

-- One tenant, the 6 stations as entities, 12 attributes (11 decimals, wd text): as bench/wide-rows.sql.
DELETE FROM entity_values_ts WHERE tenant_id IN (SELECT tenant_id FROM tenants WHERE name = 'cold-aq');
DELETE FROM tenants WHERE name = 'cold-aq';
INSERT INTO tenants (name) VALUES ('cold-aq');
CREATE TEMP TABLE cold_names (i int, name text, value_type text);
INSERT INTO cold_names VALUES (1, 'pm25', 'decimal'), (2, 'pm10', 'decimal'), (3, 'so2', 'decimal'), (4, 'no2', 'decimal'),
    (5, 'co', 'decimal'), (6, 'o3', 'decimal'), (7, 'temp', 'decimal'), (8, 'pres', 'decimal'), (9, 'dewp', 'decimal'),
    (10, 'rain', 'decimal'), (11, 'wd', 'text'), (12, 'wspm', 'decimal');
INSERT INTO attributes (tenant_id, name, value_type, hot)
SELECT t.tenant_id, n.name, n.value_type, true FROM tenants AS t, cold_names AS n WHERE t.name = 'cold-aq' ORDER BY n.i;
INSERT INTO entities (tenant_id, external_key)
SELECT DISTINCT t.tenant_id, r.station FROM tenants AS t, cold_aq_raw AS r WHERE t.name = 'cold-aq';
SELECT ensure_ts_partitions('2013-02-01', 50);

SELECT t.tenant_id AS tid, (SELECT attribute_id FROM attributes AS a WHERE a.tenant_id = t.tenant_id AND a.name = 'pm25') AS pm25,
       (SELECT min(entity_id) FROM entities AS e WHERE e.tenant_id = t.tenant_id) AS eid
  FROM tenants AS t WHERE t.name = 'cold-aq' \gset

-- The EAV rows, one a value (the readings' time in UTC+8, NA fields left out), as ingest stores them.
INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, value_decimal, value_text, ts, ingested_at)
SELECT e.tenant_id, e.entity_id, a.attribute_id, CASE WHEN f.i <> 11 THEN f.num END, CASE WHEN f.i = 11 THEN r.wd END,
       make_timestamptz(r.year, r.month, r.day, r.hour, 0, 0, 'Asia/Shanghai'), now()
  FROM cold_aq_raw AS r
  JOIN entities AS e ON e.tenant_id = :tid AND e.external_key = r.station
  CROSS JOIN LATERAL (VALUES (1, r.pm25), (2, r.pm10), (3, r.so2), (4, r.no2), (5, r.co), (6, r.o3), (7, r.temp),
                             (8, r.pres), (9, r.dewp), (10, r.rain), (11, NULL), (12, r.wspm)) AS f(i, num)
  JOIN cold_names AS n ON n.i = f.i
  JOIN attributes AS a ON a.tenant_id = :tid AND a.name = n.name
 WHERE (f.i <> 11 AND f.num IS NOT NULL) OR (f.i = 11 AND r.wd IS NOT NULL)
 ORDER BY e.entity_id, 6, a.attribute_id;
VACUUM (FULL, ANALYZE) entity_values_ts;
SELECT count(*) AS vals FROM entity_values_ts WHERE tenant_id = :tid \gset
SELECT sum(pg_total_relation_size(c.oid)) AS eav_bytes FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'entity_values_ts'::regclass \gset
SELECT pg_temp.cold_note(format('COLD|EAV rows (heap, 3 indexes)|%s B|%s values|%s bytes a value', :eav_bytes, :vals, round(:eav_bytes::numeric / :vals, 2)));
SELECT pg_total_relation_size('entity_values_ts_p201606') AS june_bytes,
       (SELECT count(*) FROM entity_values_ts_p201606) AS june_vals \gset
SELECT pg_temp.cold_note(format('COLD|EAV rows, June 2016 partition|%s B|%s values|%s bytes a value', :june_bytes, :june_vals, round(:june_bytes::numeric / :june_vals, 2)));

-- The packings: one row per (tenant, entity, attribute, UTC month), the points in time order.
--   A: the times as timestamptz[], the values as one array per type; lz4.
--   B: the times as microsecond deltas (bigint[], the first from 1970), the values as in A; lz4.
--   C: B with pglz.
-- Each keyed (tenant, entity, attribute, month), with first and last time for pruning; rows
-- over 128 bytes are compressed (toast_tuple_target) and, when still over 2 kB, moved to TOAST.
DROP TABLE IF EXISTS cold_packed_a, cold_packed_b, cold_packed_c, cold_packed_d, cold_packed_e;
CREATE TABLE cold_packed_a (
    tenant_id bigint NOT NULL, entity_id bigint NOT NULL, attribute_id integer NOT NULL, month date NOT NULL,
    first_ts timestamptz NOT NULL, last_ts timestamptz NOT NULL, points integer NOT NULL, ingested_at timestamptz NOT NULL,
    ts timestamptz[] COMPRESSION lz4 NOT NULL,
    value_int bigint[] COMPRESSION lz4, value_decimal double precision[] COMPRESSION lz4, value_text text[] COMPRESSION lz4,
    value_bool boolean[] COMPRESSION lz4, value_ts timestamptz[] COMPRESSION lz4, value_json jsonb[] COMPRESSION lz4,
    PRIMARY KEY (tenant_id, entity_id, attribute_id, month)
) WITH (toast_tuple_target = 128);
CREATE TABLE cold_packed_b (
    tenant_id bigint NOT NULL, entity_id bigint NOT NULL, attribute_id integer NOT NULL, month date NOT NULL,
    first_ts timestamptz NOT NULL, last_ts timestamptz NOT NULL, points integer NOT NULL, ingested_at timestamptz NOT NULL,
    ts_deltas bigint[] COMPRESSION lz4 NOT NULL,
    value_int bigint[] COMPRESSION lz4, value_decimal double precision[] COMPRESSION lz4, value_text text[] COMPRESSION lz4,
    value_bool boolean[] COMPRESSION lz4, value_ts timestamptz[] COMPRESSION lz4, value_json jsonb[] COMPRESSION lz4,
    PRIMARY KEY (tenant_id, entity_id, attribute_id, month)
) WITH (toast_tuple_target = 128);
CREATE TABLE cold_packed_c (LIKE cold_packed_b INCLUDING ALL) WITH (toast_tuple_target = 128);
--   D: A with one row a day (the key's month column holds the UTC day).
CREATE TABLE cold_packed_d (LIKE cold_packed_a INCLUDING ALL) WITH (toast_tuple_target = 128);
--   E: A with day_starts, the position of each UTC day's first point (one more than the month's
--   days, the last one past the end), so that a read unnests only the days it asks for.
CREATE TABLE cold_packed_e (LIKE cold_packed_a INCLUDING ALL) WITH (toast_tuple_target = 128);
ALTER TABLE cold_packed_e ADD day_starts integer[] NOT NULL;
ALTER TABLE cold_packed_c ALTER ts_deltas SET COMPRESSION pglz, ALTER value_decimal SET COMPRESSION pglz,
    ALTER value_text SET COMPRESSION pglz, ALTER value_int SET COMPRESSION pglz;

-- The rows of the tenant grouped by (entity, attribute, UTC period), the points in time order,
-- one array a value type (NULL for the types the attribute does not have).
CREATE FUNCTION pg_temp.cold_packing(tenant bigint, period text) RETURNS SETOF cold_packed_a LANGUAGE sql STABLE AS $f$
SELECT tenant_id, entity_id, attribute_id, (date_trunc(period, ts AT TIME ZONE 'UTC'))::date AS month,
       min(ts) AS first_ts, max(ts) AS last_ts, count(*)::int AS points, max(ingested_at) AS ingested_at,
       array_agg(ts ORDER BY ts) AS ts,
       CASE WHEN count(value_int) > 0 THEN array_agg(value_int ORDER BY ts) END AS value_int,
       CASE WHEN count(value_decimal) > 0 THEN array_agg(value_decimal ORDER BY ts) END AS value_decimal,
       CASE WHEN count(value_text) > 0 THEN array_agg(value_text ORDER BY ts) END AS value_text,
       CASE WHEN count(value_bool) > 0 THEN array_agg(value_bool ORDER BY ts) END AS value_bool,
       CASE WHEN count(value_ts) > 0 THEN array_agg(value_ts ORDER BY ts) END AS value_ts,
       CASE WHEN count(value_json) > 0 THEN array_agg(value_json ORDER BY ts) END AS value_json
  FROM entity_values_ts WHERE tenant_id = tenant
 GROUP BY 1, 2, 3, 4
$f$;
CREATE TEMP VIEW cold_month_rows AS SELECT * FROM pg_temp.cold_packing(:tid, 'month');

-- Microsecond deltas of a time array: the first from 1970, each next from the one before.
CREATE OR REPLACE FUNCTION pg_temp.cold_deltas(t timestamptz[]) RETURNS bigint[] LANGUAGE sql IMMUTABLE AS $f$
    SELECT array_agg(d ORDER BY o)
      FROM (SELECT us - coalesce(lag(us) OVER (ORDER BY o), 0) AS d, o
              FROM (SELECT (extract(epoch FROM x) * 1000000)::bigint AS us, o FROM unnest(t) WITH ORDINALITY AS u(x, o)) AS s) AS w
$f$;

CHECKPOINT;
SELECT pg_temp.cold_time('pack every month, A (times as timestamptz[], lz4)',
    'INSERT INTO cold_packed_a SELECT * FROM cold_month_rows');
CHECKPOINT;
SELECT pg_temp.cold_time('pack every month, B (times as deltas, lz4)',
    'INSERT INTO cold_packed_b SELECT tenant_id, entity_id, attribute_id, month, first_ts, last_ts, points, ingested_at,
            pg_temp.cold_deltas(ts), value_int, value_decimal, value_text, value_bool, value_ts, value_json FROM cold_month_rows');
CHECKPOINT;
SELECT pg_temp.cold_time('pack every month, C (times as deltas, pglz)',
    'INSERT INTO cold_packed_c SELECT tenant_id, entity_id, attribute_id, month, first_ts, last_ts, points, ingested_at,
            pg_temp.cold_deltas(ts), value_int, value_decimal, value_text, value_bool, value_ts, value_json FROM cold_month_rows');
CHECKPOINT;
SELECT pg_temp.cold_time('pack every month, E (A with day_starts)',
    $q$INSERT INTO cold_packed_e SELECT r.*, array(SELECT 1 + (SELECT count(*) FROM unnest(r.ts) AS x WHERE x < (r.month + k - 1)::timestamp AT TIME ZONE 'UTC')::int
                                                  FROM generate_series(1, (r.month + interval '1 month')::date - r.month + 1) AS k ORDER BY k)
         FROM cold_month_rows AS r$q$);
SELECT pg_temp.cold_time('pack June 2016 alone, A',
    $q$CREATE TEMP TABLE cold_one AS SELECT * FROM cold_month_rows WHERE month = '2016-06-01'$q$);
CHECKPOINT;
SELECT pg_temp.cold_time('pack every day, D (A a day a row)',
    format('INSERT INTO cold_packed_d SELECT * FROM pg_temp.cold_packing(%s, %L)', :tid, 'day'));
VACUUM ANALYZE cold_packed_a, cold_packed_b, cold_packed_c, cold_packed_d, cold_packed_e;

SELECT pg_temp.cold_note(format('COLD|packed %s|%s B|%s rows|%s values|%s bytes a value', v.name, pg_total_relation_size(v.rel),
           v.n, v.points, round(pg_total_relation_size(v.rel)::numeric / v.points, 2)))
  FROM (SELECT 'A', 'cold_packed_a'::regclass, count(*), sum(points) FROM cold_packed_a
        UNION ALL SELECT 'B', 'cold_packed_b'::regclass, count(*), sum(points) FROM cold_packed_b
        UNION ALL SELECT 'C', 'cold_packed_c'::regclass, count(*), sum(points) FROM cold_packed_c
        UNION ALL SELECT 'D', 'cold_packed_d'::regclass, count(*), sum(points) FROM cold_packed_d
        UNION ALL SELECT 'E', 'cold_packed_e'::regclass, count(*), sum(points) FROM cold_packed_e) AS v(name, rel, n, points);
SELECT pg_temp.cold_note(format('COLD|packed A, June 2016 rows|%s B in the heap and TOAST|%s values|%s bytes a value',
           sum(pg_column_size(p.*)), sum(points), round(sum(pg_column_size(p.*))::numeric / sum(points), 2)))
  FROM cold_packed_a AS p WHERE month = '2016-06-01';

-- Every point comes back: the packings unpacked against the rows (count and an order-independent sum).
SELECT pg_temp.cold_note(format('COLD|round trip|rows %s, A %s, B %s',
    (SELECT count(*) || ' / ' || sum(hashtextextended(ts::text || coalesce(value_decimal::text, value_text), 0)::numeric) FROM entity_values_ts WHERE tenant_id = :tid),
    (SELECT count(*) || ' / ' || sum(hashtextextended(u.t::text || coalesce(u.d::text, u.x), 0)::numeric)
       FROM cold_packed_a AS p, unnest(p.ts, p.value_decimal, p.value_text) AS u(t, d, x)),
    (SELECT count(*) || ' / ' || sum(hashtextextended(to_timestamp(u.us / 1e6)::text || coalesce(u.d::text, u.x), 0)::numeric)
       FROM cold_packed_b AS p,
            LATERAL (SELECT sum(dt) OVER (ORDER BY o) AS us, d, x FROM unnest(p.ts_deltas, p.value_decimal, p.value_text) WITH ORDINALITY AS z(dt, d, x, o)) AS u)));

-- The positions [lo, hi] of a packed row's points in the whole UTC days that [f, t) touches.
CREATE OR REPLACE FUNCTION pg_temp.cold_days(month date, day_starts integer[], f timestamptz, t timestamptz)
RETURNS TABLE (lo integer, hi integer) LANGUAGE sql IMMUTABLE AS $f$
    SELECT day_starts[greatest(1, least(cardinality(day_starts), coalesce(floor(extract(epoch FROM f - month::timestamp AT TIME ZONE 'UTC') / 86400)::int + 1, 1)))],
           day_starts[greatest(1, least(cardinality(day_starts), coalesce(ceil(extract(epoch FROM t - month::timestamp AT TIME ZONE 'UTC') / 86400)::int + 1, cardinality(day_starts))))] - 1
$f$;

-- The reads of a cold month (June 2016, UTC): on the rows, on A (times as they are) and on B (deltas).
\set from '''2016-06-01 00:00+00'''
\set to '''2016-07-01 00:00+00'''
SELECT pg_temp.cold_read('series, a station''s PM2.5, 7 days: rows', format(
    $q$SELECT ts, value_decimal FROM entity_values_ts WHERE tenant_id = %s AND entity_id = %s AND attribute_id = %s
          AND ts >= '2016-06-03' AND ts < '2016-06-10' ORDER BY ts$q$, :tid, :eid, :pm25));
SELECT pg_temp.cold_read('series, a station''s PM2.5, 7 days: packed A', format(
    $q$SELECT u.ts, u.v FROM cold_packed_a AS p, unnest(p.ts, p.value_decimal) AS u(ts, v)
        WHERE p.tenant_id = %s AND p.entity_id = %s AND p.attribute_id = %s
          AND p.first_ts < '2016-06-10' AND p.last_ts >= '2016-06-03' AND u.ts >= '2016-06-03' AND u.ts < '2016-06-10' ORDER BY u.ts$q$, :tid, :eid, :pm25));
SELECT pg_temp.cold_read('series, a station''s PM2.5, 7 days: packed E', format(
    $q$SELECT u.ts, u.v FROM cold_packed_e AS p, LATERAL pg_temp.cold_days(p.month, p.day_starts, '2016-06-03 00:00+00'::timestamptz, '2016-06-10 00:00+00'::timestamptz) AS r, unnest(p.ts[r.lo:r.hi], p.value_decimal[r.lo:r.hi]) AS u(ts, v)
        WHERE p.month >= date_trunc('month', '2016-06-03 00:00+00'::timestamptz, 'UTC')::date AND p.month < '2016-06-10 00:00+00'::timestamptz AND p.tenant_id = %s AND p.entity_id = %s AND p.attribute_id = %s
          AND p.first_ts < '2016-06-10' AND p.last_ts >= '2016-06-03' AND u.ts >= '2016-06-03' AND u.ts < '2016-06-10' ORDER BY u.ts$q$, :tid, :eid, :pm25));
SELECT pg_temp.cold_read('series, a station''s PM2.5, 7 days: packed D', format(
    $q$SELECT u.ts, u.v FROM cold_packed_d AS p, unnest(p.ts, p.value_decimal) AS u(ts, v)
        WHERE p.tenant_id = %s AND p.entity_id = %s AND p.attribute_id = %s
          AND p.first_ts < '2016-06-10' AND p.last_ts >= '2016-06-03' AND u.ts >= '2016-06-03' AND u.ts < '2016-06-10' ORDER BY u.ts$q$, :tid, :eid, :pm25));
SELECT pg_temp.cold_read('series, a station''s PM2.5, 7 days: packed B', format(
    $q$SELECT to_timestamp(u.us / 1e6) AS ts, u.v FROM cold_packed_b AS p,
            LATERAL (SELECT sum(dt) OVER (ORDER BY o) AS us, v FROM unnest(p.ts_deltas, p.value_decimal) WITH ORDINALITY AS z(dt, v, o)) AS u
        WHERE p.tenant_id = %s AND p.entity_id = %s AND p.attribute_id = %s
          AND p.first_ts < '2016-06-10' AND p.last_ts >= '2016-06-03'
          AND u.us >= 1464912000000000 AND u.us < 1465516800000000 ORDER BY 1$q$, :tid, :eid, :pm25));
SELECT pg_temp.cold_read('series, a station''s PM2.5, the month: rows', format(
    $q$SELECT ts, value_decimal FROM entity_values_ts WHERE tenant_id = %s AND entity_id = %s AND attribute_id = %s
          AND ts >= %s AND ts < %s ORDER BY ts$q$, :tid, :eid, :pm25, :'from', :'to'));
SELECT pg_temp.cold_read('series, a station''s PM2.5, the month: packed A', format(
    $q$SELECT u.ts, u.v FROM cold_packed_a AS p, unnest(p.ts, p.value_decimal) AS u(ts, v)
        WHERE p.tenant_id = %s AND p.entity_id = %s AND p.attribute_id = %s
          AND p.first_ts < %s AND p.last_ts >= %s AND u.ts >= %s AND u.ts < %s ORDER BY u.ts$q$, :tid, :eid, :pm25, :'to', :'from', :'from', :'to'));
SELECT pg_temp.cold_read('series, a station''s PM2.5, the month: packed E', format(
    $q$SELECT u.ts, u.v FROM cold_packed_e AS p, LATERAL pg_temp.cold_days(p.month, p.day_starts, '2016-06-01 00:00+00'::timestamptz, '2016-07-01 00:00+00'::timestamptz) AS r, unnest(p.ts[r.lo:r.hi], p.value_decimal[r.lo:r.hi]) AS u(ts, v)
        WHERE p.month >= date_trunc('month', '2016-06-01 00:00+00'::timestamptz, 'UTC')::date AND p.month < '2016-07-01 00:00+00'::timestamptz AND p.tenant_id = %s AND p.entity_id = %s AND p.attribute_id = %s
          AND p.first_ts < %s AND p.last_ts >= %s AND u.ts >= %s AND u.ts < %s ORDER BY u.ts$q$, :tid, :eid, :pm25, :'to', :'from', :'from', :'to'));
SELECT pg_temp.cold_read('series, a station''s PM2.5, the month: packed D', format(
    $q$SELECT u.ts, u.v FROM cold_packed_d AS p, unnest(p.ts, p.value_decimal) AS u(ts, v)
        WHERE p.tenant_id = %s AND p.entity_id = %s AND p.attribute_id = %s
          AND p.first_ts < %s AND p.last_ts >= %s AND u.ts >= %s AND u.ts < %s ORDER BY u.ts$q$, :tid, :eid, :pm25, :'to', :'from', :'from', :'to'));
SELECT pg_temp.cold_read('daily average, a station''s PM2.5, the month: rows', format(
    $q$SELECT date_trunc('day', ts, 'UTC'), avg(value_decimal) FROM entity_values_ts WHERE tenant_id = %s AND entity_id = %s
          AND attribute_id = %s AND ts >= %s AND ts < %s GROUP BY 1$q$, :tid, :eid, :pm25, :'from', :'to'));
SELECT pg_temp.cold_read('daily average, a station''s PM2.5, the month: packed A', format(
    $q$SELECT date_trunc('day', u.ts, 'UTC'), avg(u.v) FROM cold_packed_a AS p, unnest(p.ts, p.value_decimal) AS u(ts, v)
        WHERE p.tenant_id = %s AND p.entity_id = %s AND p.attribute_id = %s
          AND p.first_ts < %s AND p.last_ts >= %s AND u.ts >= %s AND u.ts < %s GROUP BY 1$q$, :tid, :eid, :pm25, :'to', :'from', :'from', :'to'));
SELECT pg_temp.cold_read('daily average, a station''s PM2.5, the month: packed E', format(
    $q$SELECT date_trunc('day', u.ts, 'UTC'), avg(u.v) FROM cold_packed_e AS p, LATERAL pg_temp.cold_days(p.month, p.day_starts, '2016-06-01 00:00+00'::timestamptz, '2016-07-01 00:00+00'::timestamptz) AS r, unnest(p.ts[r.lo:r.hi], p.value_decimal[r.lo:r.hi]) AS u(ts, v)
        WHERE p.month >= date_trunc('month', '2016-06-01 00:00+00'::timestamptz, 'UTC')::date AND p.month < '2016-07-01 00:00+00'::timestamptz AND p.tenant_id = %s AND p.entity_id = %s AND p.attribute_id = %s
          AND p.first_ts < %s AND p.last_ts >= %s AND u.ts >= %s AND u.ts < %s GROUP BY 1$q$, :tid, :eid, :pm25, :'to', :'from', :'from', :'to'));
SELECT pg_temp.cold_read('daily average, a station''s PM2.5, the month: packed D', format(
    $q$SELECT date_trunc('day', u.ts, 'UTC'), avg(u.v) FROM cold_packed_d AS p, unnest(p.ts, p.value_decimal) AS u(ts, v)
        WHERE p.tenant_id = %s AND p.entity_id = %s AND p.attribute_id = %s
          AND p.first_ts < %s AND p.last_ts >= %s AND u.ts >= %s AND u.ts < %s GROUP BY 1$q$, :tid, :eid, :pm25, :'to', :'from', :'from', :'to'));
SELECT pg_temp.cold_read('hourly average, every station''s PM2.5, the month: rows', format(
    $q$SELECT date_trunc('hour', ts), avg(value_decimal) FROM entity_values_ts WHERE tenant_id = %s
          AND attribute_id = %s AND ts >= %s AND ts < %s GROUP BY 1$q$, :tid, :pm25, :'from', :'to'));
SELECT pg_temp.cold_read('hourly average, every station''s PM2.5, the month: packed A', format(
    $q$SELECT date_trunc('hour', u.ts), avg(u.v) FROM cold_packed_a AS p, unnest(p.ts, p.value_decimal) AS u(ts, v)
        WHERE p.tenant_id = %s AND p.attribute_id = %s
          AND p.first_ts < %s AND p.last_ts >= %s AND u.ts >= %s AND u.ts < %s GROUP BY 1$q$, :tid, :pm25, :'to', :'from', :'from', :'to'));
SELECT pg_temp.cold_read('hourly average, every station''s PM2.5, the month: packed E', format(
    $q$SELECT date_trunc('hour', u.ts), avg(u.v) FROM cold_packed_e AS p, LATERAL pg_temp.cold_days(p.month, p.day_starts, '2016-06-01 00:00+00'::timestamptz, '2016-07-01 00:00+00'::timestamptz) AS r, unnest(p.ts[r.lo:r.hi], p.value_decimal[r.lo:r.hi]) AS u(ts, v)
        WHERE p.month >= date_trunc('month', '2016-06-01 00:00+00'::timestamptz, 'UTC')::date AND p.month < '2016-07-01 00:00+00'::timestamptz AND p.tenant_id = %s AND p.attribute_id = %s
          AND p.first_ts < %s AND p.last_ts >= %s AND u.ts >= %s AND u.ts < %s GROUP BY 1$q$, :tid, :pm25, :'to', :'from', :'from', :'to'));
SELECT pg_temp.cold_read('hourly average, every station''s PM2.5, the month: packed D', format(
    $q$SELECT date_trunc('hour', u.ts), avg(u.v) FROM cold_packed_d AS p, unnest(p.ts, p.value_decimal) AS u(ts, v)
        WHERE p.tenant_id = %s AND p.attribute_id = %s
          AND p.first_ts < %s AND p.last_ts >= %s AND u.ts >= %s AND u.ts < %s GROUP BY 1$q$, :tid, :pm25, :'to', :'from', :'from', :'to'));
SELECT pg_temp.cold_read('latest PM2.5 of a station at 2016-06-15 12:00: rows', format(
    $q$SELECT ts, value_decimal FROM entity_values_ts WHERE tenant_id = %s AND entity_id = %s AND attribute_id = %s
          AND ts >= %s AND ts <= '2016-06-15 12:00+00' ORDER BY ts DESC LIMIT 1$q$, :tid, :eid, :pm25, :'from'));
SELECT pg_temp.cold_read('latest PM2.5 of a station at 2016-06-15 12:00: packed A', format(
    $q$SELECT u.ts, u.v FROM cold_packed_a AS p, unnest(p.ts, p.value_decimal) AS u(ts, v)
        WHERE p.tenant_id = %s AND p.entity_id = %s AND p.attribute_id = %s AND p.first_ts <= '2016-06-15 12:00+00' AND p.last_ts >= %s
          AND u.ts <= '2016-06-15 12:00+00' ORDER BY u.ts DESC LIMIT 1$q$, :tid, :eid, :pm25, :'from'));
SELECT pg_temp.cold_read('latest PM2.5 of a station at 2016-06-15 12:00: packed E', format(
    $q$SELECT u.ts, u.v FROM cold_packed_e AS p, LATERAL pg_temp.cold_days(p.month, p.day_starts, '2016-06-01 00:00+00'::timestamptz, '2016-06-15 12:00+00'::timestamptz) AS r, unnest(p.ts[r.lo:r.hi], p.value_decimal[r.lo:r.hi]) AS u(ts, v)
        WHERE p.month >= date_trunc('month', '2016-06-01 00:00+00'::timestamptz, 'UTC')::date AND p.month < '2016-06-15 12:00+00'::timestamptz AND p.tenant_id = %s AND p.entity_id = %s AND p.attribute_id = %s AND p.first_ts <= '2016-06-15 12:00+00' AND p.last_ts >= %s
          AND u.ts <= '2016-06-15 12:00+00' ORDER BY u.ts DESC LIMIT 1$q$, :tid, :eid, :pm25, :'from'));
SELECT pg_temp.cold_read('latest PM2.5 of a station at 2016-06-15 12:00: packed D', format(
    $q$SELECT u.ts, u.v FROM cold_packed_d AS p, unnest(p.ts, p.value_decimal) AS u(ts, v)
        WHERE p.tenant_id = %s AND p.entity_id = %s AND p.attribute_id = %s AND p.first_ts <= '2016-06-15 12:00+00' AND p.last_ts >= %s
          AND u.ts <= '2016-06-15 12:00+00' ORDER BY u.ts DESC LIMIT 1$q$, :tid, :eid, :pm25, :'from'));
SELECT pg_temp.cold_read('a station''s 12 attributes over one day: rows', format(
    $q$SELECT attribute_id, ts, value_decimal, value_text FROM entity_values_ts WHERE tenant_id = %s AND entity_id = %s
          AND ts >= '2016-06-15' AND ts < '2016-06-16' ORDER BY attribute_id, ts$q$, :tid, :eid));
SELECT pg_temp.cold_read('a station''s 12 attributes over one day: packed A', format(
    $q$SELECT p.attribute_id, u.ts, u.d, u.x FROM cold_packed_a AS p, unnest(p.ts, p.value_decimal, p.value_text) AS u(ts, d, x)
        WHERE p.tenant_id = %s AND p.entity_id = %s AND p.first_ts < '2016-06-16' AND p.last_ts >= '2016-06-15'
          AND u.ts >= '2016-06-15' AND u.ts < '2016-06-16' ORDER BY 1, 2$q$, :tid, :eid));
SELECT pg_temp.cold_read('a station''s 12 attributes over one day: packed E', format(
    $q$SELECT p.attribute_id, u.ts, u.d, u.x FROM cold_packed_e AS p, LATERAL pg_temp.cold_days(p.month, p.day_starts, '2016-06-15 00:00+00'::timestamptz, '2016-06-16 00:00+00'::timestamptz) AS r, unnest(p.ts[r.lo:r.hi], p.value_decimal[r.lo:r.hi], p.value_text[r.lo:r.hi]) AS u(ts, d, x)
        WHERE p.month >= date_trunc('month', '2016-06-15 00:00+00'::timestamptz, 'UTC')::date AND p.month < '2016-06-16 00:00+00'::timestamptz AND p.tenant_id = %s AND p.entity_id = %s AND p.first_ts < '2016-06-16' AND p.last_ts >= '2016-06-15'
          AND u.ts >= '2016-06-15' AND u.ts < '2016-06-16' ORDER BY 1, 2$q$, :tid, :eid));
SELECT pg_temp.cold_read('a station''s 12 attributes over one day: packed D', format(
    $q$SELECT p.attribute_id, u.ts, u.d, u.x FROM cold_packed_d AS p, unnest(p.ts, p.value_decimal, p.value_text) AS u(ts, d, x)
        WHERE p.tenant_id = %s AND p.entity_id = %s AND p.first_ts < '2016-06-16' AND p.last_ts >= '2016-06-15'
          AND u.ts >= '2016-06-15' AND u.ts < '2016-06-16' ORDER BY 1, 2$q$, :tid, :eid));
