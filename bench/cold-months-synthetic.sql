-- Issue 22, lever 6 on the 2M synthetic dataset (load bench/flush-breakdown-setup.sql first): the
-- sparse case, where an (entity, attribute) has few points a month. The fbd tenants' rows packed
-- as in bench/cold-months.sql (A: one row per entity, attribute and month; B: A with the times as
-- deltas) and one row per entity and month (F: the attribute ids as an array beside the times
-- and the values); sizes, a round trip, and dev-0's minute series read from a cold month.
-- Writes the rows as InfluxDB line protocol to :lp (bench/cold-months.sh loads it).
--   psql "$SUPERUSER_URL" -X -v lp=/tmp/x.lp -f bench/cold-months-synthetic.sql
\set ON_ERROR_STOP on
SET client_min_messages = notice;

\ir cold-months-helpers.sql

-- Sizes are of the whole table: run it on a database that holds only this dataset.
VACUUM (FULL, ANALYZE) entity_values_ts;
CREATE TEMP TABLE cold_rows AS
SELECT v.* FROM entity_values_ts AS v JOIN fbd_tenants AS t USING (tenant_id);
SELECT count(*) AS vals FROM cold_rows \gset
SELECT sum(pg_total_relation_size(c.oid)) AS eav_bytes FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'entity_values_ts'::regclass \gset
SELECT pg_temp.cold_note(format('COLD|synthetic, EAV rows (heap, 3 indexes)|%s B|%s values|%s bytes a value', :eav_bytes, :vals, round(:eav_bytes::numeric / :vals, 2)));

DROP TABLE IF EXISTS cold_syn_a, cold_syn_b, cold_syn_f;
CREATE TABLE cold_syn_a (
    tenant_id bigint NOT NULL, entity_id bigint NOT NULL, attribute_id integer NOT NULL, month date NOT NULL,
    first_ts timestamptz NOT NULL, last_ts timestamptz NOT NULL, points integer NOT NULL, ingested_at timestamptz NOT NULL,
    ts timestamptz[] COMPRESSION lz4 NOT NULL,
    value_decimal double precision[] COMPRESSION lz4, value_text text[] COMPRESSION lz4,
    PRIMARY KEY (tenant_id, entity_id, attribute_id, month)
) WITH (toast_tuple_target = 128);
CREATE TABLE cold_syn_b (LIKE cold_syn_a INCLUDING ALL) WITH (toast_tuple_target = 128);
ALTER TABLE cold_syn_b DROP ts, ADD ts_deltas bigint[] COMPRESSION lz4 NOT NULL;
CREATE TABLE cold_syn_f (
    tenant_id bigint NOT NULL, entity_id bigint NOT NULL, month date NOT NULL,
    first_ts timestamptz NOT NULL, last_ts timestamptz NOT NULL, points integer NOT NULL, ingested_at timestamptz NOT NULL,
    attribute_ids integer[] COMPRESSION lz4 NOT NULL, ts timestamptz[] COMPRESSION lz4 NOT NULL,
    value_decimal double precision[] COMPRESSION lz4, value_text text[] COMPRESSION lz4,
    PRIMARY KEY (tenant_id, entity_id, month)
) WITH (toast_tuple_target = 128);

INSERT INTO cold_syn_a
SELECT tenant_id, entity_id, attribute_id, (date_trunc('month', ts AT TIME ZONE 'UTC'))::date,
       min(ts), max(ts), count(*), max(ingested_at), array_agg(ts ORDER BY ts),
       CASE WHEN count(value_decimal) > 0 THEN array_agg(value_decimal ORDER BY ts) END,
       CASE WHEN count(value_text) > 0 THEN array_agg(value_text ORDER BY ts) END
  FROM cold_rows GROUP BY 1, 2, 3, 4;
INSERT INTO cold_syn_b (tenant_id, entity_id, attribute_id, month, first_ts, last_ts, points, ingested_at, value_decimal, value_text, ts_deltas)
SELECT tenant_id, entity_id, attribute_id, month, first_ts, last_ts, points, ingested_at, value_decimal, value_text,
       (SELECT array_agg(d ORDER BY o) FROM (SELECT us - coalesce(lag(us) OVER (ORDER BY o), 0) AS d, o
          FROM (SELECT (extract(epoch FROM x) * 1000000)::bigint AS us, o FROM unnest(ts) WITH ORDINALITY AS u(x, o)) AS s) AS w)
  FROM cold_syn_a;
INSERT INTO cold_syn_f
SELECT tenant_id, entity_id, (date_trunc('month', ts AT TIME ZONE 'UTC'))::date,
       min(ts), max(ts), count(*), max(ingested_at), array_agg(attribute_id ORDER BY attribute_id, ts), array_agg(ts ORDER BY attribute_id, ts),
       CASE WHEN count(value_decimal) > 0 THEN array_agg(value_decimal ORDER BY attribute_id, ts) END,
       CASE WHEN count(value_text) > 0 THEN array_agg(value_text ORDER BY attribute_id, ts) END
  FROM cold_rows GROUP BY 1, 2, 3;
VACUUM ANALYZE cold_syn_a, cold_syn_b, cold_syn_f;

SELECT pg_temp.cold_note(format('COLD|synthetic, packed %s|%s B|%s rows|%s values|%s bytes a value', v.name, pg_total_relation_size(v.rel),
           v.n, v.points, round(pg_total_relation_size(v.rel)::numeric / v.points, 2)))
  FROM (SELECT 'A (entity, attribute, month)', 'cold_syn_a'::regclass, count(*), sum(points) FROM cold_syn_a
        UNION ALL SELECT 'B (A, times as deltas)', 'cold_syn_b'::regclass, count(*), sum(points) FROM cold_syn_b
        UNION ALL SELECT 'F (entity, month)', 'cold_syn_f'::regclass, count(*), sum(points) FROM cold_syn_f) AS v(name, rel, n, points);
SELECT pg_temp.cold_note(format('COLD|synthetic, round trip|rows %s, A %s, F %s',
    (SELECT count(*) || ' / ' || sum(hashtextextended(entity_id::text || attribute_id::text || ts::text || coalesce(value_decimal::text, value_text), 0)::numeric) FROM cold_rows),
    (SELECT count(*) || ' / ' || sum(hashtextextended(p.entity_id::text || p.attribute_id::text || u.t::text || coalesce(u.d::text, u.x), 0)::numeric)
       FROM cold_syn_a AS p, unnest(p.ts, p.value_decimal, p.value_text) AS u(t, d, x)),
    (SELECT count(*) || ' / ' || sum(hashtextextended(p.entity_id::text || u.a::text || u.t::text || coalesce(u.d::text, u.x), 0)::numeric)
       FROM cold_syn_f AS p, unnest(p.attribute_ids, p.ts, p.value_decimal, p.value_text) AS u(a, t, d, x))));

-- dev-0's minute series of a0 (tenant 0), one day of it, from the rows and from the packings.
SELECT t.tenant_id AS tid, t.lo AS eid, t.attrs[1] AS a0, date_trunc('day', now() - interval '2 days') AS day_from
  FROM fbd_tenants AS t WHERE t.idx = 0 \gset
SELECT pg_temp.cold_read('synthetic, dev-0''s minute series, one day: rows', format(
    $q$SELECT ts, value_decimal FROM entity_values_ts WHERE tenant_id = %s AND entity_id = %s AND attribute_id = %s
          AND ts >= %L AND ts < %L::timestamptz + interval '1 day' ORDER BY ts$q$, :tid, :eid, :a0, :'day_from', :'day_from'));
SELECT pg_temp.cold_read('synthetic, dev-0''s minute series, one day: packed A', format(
    $q$SELECT u.ts, u.v FROM cold_syn_a AS p, unnest(p.ts, p.value_decimal) AS u(ts, v)
        WHERE p.tenant_id = %s AND p.entity_id = %s AND p.attribute_id = %s
          AND p.month >= date_trunc('month', %L::timestamptz, 'UTC')::date AND p.month < %L::timestamptz + interval '1 day'
          AND u.ts >= %L AND u.ts < %L::timestamptz + interval '1 day' ORDER BY u.ts$q$,
    :tid, :eid, :a0, :'day_from', :'day_from', :'day_from', :'day_from'));
SELECT pg_temp.cold_read('synthetic, dev-0''s minute series, one day: packed F', format(
    $q$SELECT u.ts, u.v FROM cold_syn_f AS p, unnest(p.attribute_ids, p.ts, p.value_decimal) AS u(a, ts, v)
        WHERE p.tenant_id = %s AND p.entity_id = %s AND u.a = %s
          AND p.month >= date_trunc('month', %L::timestamptz, 'UTC')::date AND p.month < %L::timestamptz + interval '1 day'
          AND u.ts >= %L AND u.ts < %L::timestamptz + interval '1 day' ORDER BY u.ts$q$,
    :tid, :eid, :a0, :'day_from', :'day_from', :'day_from', :'day_from'));

-- The same rows as line protocol, as `bench all` writes them (InfluxPeer+Dataset.swift):
-- measurement tN, tag entity, one field a line, microseconds.
COPY (SELECT 't' || t.idx || ',entity=' || e.external_key || ' ' || a.name || '=' ||
             coalesce(r.value_decimal::text, '"' || r.value_text || '"') || ' ' || (extract(epoch FROM r.ts) * 1000000)::bigint
        FROM cold_rows AS r JOIN fbd_tenants AS t USING (tenant_id)
        JOIN entities AS e ON e.tenant_id = r.tenant_id AND e.entity_id = r.entity_id
        JOIN attributes AS a ON a.tenant_id = r.tenant_id AND a.attribute_id = r.attribute_id) TO :'lp';
