-- Issue 22, cold storage of sparse data (bench/sparse-packs.sh runs it twice: before and after
-- `tessera archive pack` of the two months before the current one). On the 2M synthetic set of
-- bench/flush-breakdown-setup.sql: the bytes a value of those months (rows: their partitions
-- with indexes and TOAST; packed: what is left of the partitions plus entity_values_packed), and
-- five reads of them as the server issues them (rows UNION ALL packed_values()), median ms of 21
-- with an md5 of their rows, which must be the same before and after.
--   psql "$SUPERUSER_URL" -X -v phase=rows -f bench/sparse-packs.sql
\set ON_ERROR_STOP on
SET client_min_messages = notice;
\ir cold-months-helpers.sql

SELECT date_trunc('month', now(), 'UTC') - interval '2 months' AS m1, date_trunc('month', now(), 'UTC') - interval '1 month' AS m2,
       date_trunc('month', now(), 'UTC') AS m3 \gset
SELECT to_char(:'m1'::timestamptz AT TIME ZONE 'UTC', 'YYYYMM') AS p1, to_char(:'m2'::timestamptz AT TIME ZONE 'UTC', 'YYYYMM') AS p2 \gset

-- Sizes. Packs of other months (none in this run) would count too: run it on this dataset only.
SELECT (SELECT count(*) FROM entity_values_ts WHERE ts >= :'m1' AND ts < :'m3')
       + (SELECT coalesce(sum(points), 0) FROM entity_values_packed WHERE month >= :'m1' AND month < :'m3') AS vals,
       pg_total_relation_size('entity_values_ts_p' || :'p1') + pg_total_relation_size('entity_values_ts_p' || :'p2')
       + pg_total_relation_size('entity_values_packed') AS bytes,
       (SELECT count(*) FROM entity_values_packed) AS packs \gset
SELECT pg_temp.cold_note(format('COLD|sparse %s|%s values|%s B|%s packs|%s bytes a value', :'phase', :vals, :bytes, :packs,
                                round(:bytes::numeric / :vals, 2)));

-- The reads' subjects, chosen the same way in both phases: tenant 0 (40% of the data) and a
-- small tenant; the small tenant's series with the most points in m1 (a sparse series: a few).
SELECT t.tenant_id AS t0, t.lo AS dev0, t.attrs[1] AS a0 FROM fbd_tenants AS t WHERE t.idx = 0 \gset
SELECT t.tenant_id AS t7, t.attrs[13] AS a12 FROM fbd_tenants AS t WHERE t.idx = 7 \gset
SELECT v.entity_id AS e7
  FROM (SELECT entity_id, ts FROM entity_values_ts WHERE tenant_id = :t7 AND attribute_id = :a12 AND ts >= :'m1' AND ts < :'m2'
        UNION ALL SELECT entity_id, ts FROM packed_values(:t7, NULL, :a12, :'m1', :'m2')) AS v
 GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1 \gset

SELECT pg_temp.cold_read(format('sparse %s: a small tenant''s sparse series over a month', :'phase'), format(
    $q$SELECT ts, value_decimal FROM ((SELECT ts, value_decimal FROM entity_values_ts
                                         WHERE tenant_id = %1$s AND entity_id = %2$s AND attribute_id = %3$s AND ts >= %4$L AND ts < %5$L)
                                       UNION ALL
                                       (SELECT ts, value_decimal FROM packed_values(%1$s, ARRAY[%2$s::bigint], %3$s, %4$L, %5$L))) AS t
        ORDER BY ts LIMIT 1001$q$, :t7, :e7, :a12, :'m1', :'m2'));
SELECT pg_temp.cold_read(format('sparse %s: dev-0''s minute series, one day', :'phase'), format(
    $q$SELECT ts, value_decimal FROM ((SELECT ts, value_decimal FROM entity_values_ts
                                         WHERE tenant_id = %1$s AND entity_id = %2$s AND attribute_id = %3$s AND ts >= %4$L AND ts < %5$L)
                                       UNION ALL
                                       (SELECT ts, value_decimal FROM packed_values(%1$s, ARRAY[%2$s::bigint], %3$s, %4$L, %5$L))) AS t
        ORDER BY ts LIMIT 10001$q$, :t0, :dev0, :a0, (:'m3'::timestamptz - interval '1 day'), :'m3'));
SELECT pg_temp.cold_read(format('sparse %s: the sparse series'' last value before m2 (series_points walk)', :'phase'), format(
    $q$SELECT ts, value_decimal FROM series_points(%1$s, %2$s, %3$s, NULL, %4$L, NULL, true, 2)$q$, :t7, :e7, :a12, :'m2'));
SELECT pg_temp.cold_read(format('sparse %s: every attribute of the sparse entity over m1 (export)', :'phase'), format(
    $q$SELECT entity_id, attribute_id, ts, value_decimal, value_text
         FROM ((SELECT entity_id, attribute_id, ts, value_decimal, value_text FROM entity_values_ts
                 WHERE tenant_id = %1$s AND entity_id = ANY (ARRAY[%2$s::bigint]) AND ts >= %3$L AND ts < %4$L)
               UNION ALL
               (SELECT entity_id, attribute_id, ts, value_decimal, value_text FROM packed_values(%1$s, ARRAY[%2$s::bigint], NULL, %3$L, %4$L))) AS t
        ORDER BY entity_id, attribute_id, ts$q$, :t7, :e7, :'m1', :'m2'));
SELECT pg_temp.cold_read(format('sparse %s: daily mean of tenant 0''s a0 over m2, from the points', :'phase'), format(
    $q$SELECT date_bin('1 day', ts, timestamptz '1970-01-01 00:00:00+00') AS day, count(*), round((sum(v) / count(v))::numeric, 6)
         FROM (SELECT ts, value_decimal AS v FROM entity_values_ts WHERE tenant_id = %1$s AND attribute_id = %2$s AND ts >= %3$L AND ts < %4$L
               UNION ALL
               SELECT ts, value_decimal FROM packed_values(%1$s, NULL, %2$s, %3$L, %4$L)) AS t
        GROUP BY 1$q$, :t0, :a0, :'m2', :'m3'));
