-- Issue 22: the least the database must do to store the air-quality readings as one row a
-- line (lever 3), step by step, against InfluxDB's whole cost a value (bench/dense-floor.sh
-- loads wide_aq_raw first). Each trial starts from empty tables right after a CHECKPOINT and
-- runs what a flush of dense lines needs at the least, each step over all 2.48M values at
-- once (no per-flush overhead, so a lower bound):
--   stage       COPY of the lines into an UNLOGGED staging table, no indexes
--   move        into entity_lines_ts (unique (tenant, entity, ts), BRIN), last write wins
--   projection  the newest line of each entity, upserted only when newer
--   rollups     one hourly rollup row a line, per (tenant, entity, hour), inserted; or
--   rollups merged  one row per (tenant, hour) holding every station's fields, as today's
--               rollups hold every entity's values, merged station after station
--   delete      the staged rows
-- Prints FLOOR|trial|step|ms|values|WAL bytes|machine busy centiseconds (from /proc/stat).
\set ON_ERROR_STOP on
SET client_min_messages = notice;

CREATE OR REPLACE FUNCTION pg_temp.busy_ticks() RETURNS bigint LANGUAGE sql AS $f$
    SELECT f[2]::bigint + f[3]::bigint + f[4]::bigint + f[7]::bigint + f[8]::bigint + f[9]::bigint
      FROM (SELECT regexp_split_to_array(split_part(pg_read_file('/proc/stat'), E'\n', 1), '\s+') AS f) AS s
$f$;

CREATE OR REPLACE FUNCTION pg_temp.floor_run(trial int, label text, q text, nvalues bigint) RETURNS void
LANGUAGE plpgsql AS $f$
DECLARE t0 timestamptz; l0 pg_lsn; b0 bigint;
BEGIN
    b0 := pg_temp.busy_ticks();
    l0 := pg_current_wal_insert_lsn();
    t0 := clock_timestamp();
    EXECUTE q;
    RAISE NOTICE 'FLOOR|%|%|%|%|%|%', trial, label,
        round((extract(epoch FROM clock_timestamp() - t0) * 1000)::numeric, 1), nvalues,
        pg_current_wal_insert_lsn() - l0, pg_temp.busy_ticks() - b0;
END
$f$;

-- Element-wise merge of two rollup rows keyed by attribute ids (the ids of either side, the
-- counts and sums added, the least and greatest kept).
CREATE OR REPLACE FUNCTION pg_temp.merge_ids(a int[], b int[]) RETURNS int[] LANGUAGE sql IMMUTABLE AS $f$
    SELECT array_agg(id ORDER BY id) FROM (SELECT unnest(a) UNION SELECT unnest(b)) AS u(id)
$f$;
CREATE OR REPLACE FUNCTION pg_temp.merge_values(ia int[], va float8[], ib int[], vb float8[], op text) RETURNS float8[]
LANGUAGE sql IMMUTABLE AS $f$
    SELECT array_agg(CASE op WHEN 'sum' THEN coalesce(x.v, 0) + coalesce(y.v, 0)
                             WHEN 'min' THEN least(x.v, y.v) ELSE greatest(x.v, y.v) END ORDER BY id)
      FROM unnest(ia, va) AS x(id, v) FULL JOIN unnest(ib, vb) AS y(id, v) USING (id)
$f$;

\ir wide-rows-setup.sql

CREATE UNLOGGED TABLE IF NOT EXISTS lines_ingest (
    tenant_id bigint NOT NULL, entity_id bigint NOT NULL, ts timestamptz NOT NULL, ingested_at timestamptz NOT NULL,
    attribute_ids integer[] NOT NULL, numbers double precision[], wd text, batch_id bigint NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS lines_latest (
    tenant_id bigint NOT NULL, entity_id bigint NOT NULL, ts timestamptz NOT NULL,
    attribute_ids integer[] NOT NULL, numbers double precision[], wd text, PRIMARY KEY (tenant_id, entity_id)
);
CREATE TABLE IF NOT EXISTS lines_hourly_entity (
    tenant_id bigint NOT NULL, entity_id bigint NOT NULL, hour timestamptz NOT NULL, attribute_ids integer[] NOT NULL,
    counts double precision[] NOT NULL, sums double precision[] NOT NULL, mins double precision[] NOT NULL,
    maxs double precision[] NOT NULL, PRIMARY KEY (tenant_id, entity_id, hour)
);
CREATE TABLE IF NOT EXISTS lines_hourly (
    tenant_id bigint NOT NULL, hour timestamptz NOT NULL, attribute_ids integer[] NOT NULL,
    counts double precision[] NOT NULL, sums double precision[] NOT NULL, mins double precision[] NOT NULL,
    maxs double precision[] NOT NULL, PRIMARY KEY (tenant_id, hour)
);

\set stage 'COPY lines_ingest (tenant_id, entity_id, ts, ingested_at, attribute_ids, numbers, wd) FROM ''/tmp/costbd-copy/aq-wide.copy'''
\set move 'INSERT INTO entity_lines_ts SELECT tenant_id, entity_id, ts, ingested_at, attribute_ids, numbers, wd FROM lines_ingest WHERE batch_id = 1 ON CONFLICT (tenant_id, entity_id, ts) DO UPDATE SET ingested_at = excluded.ingested_at, attribute_ids = excluded.attribute_ids, numbers = excluded.numbers, wd = excluded.wd'
\set projection 'INSERT INTO lines_latest SELECT DISTINCT ON (tenant_id, entity_id) tenant_id, entity_id, ts, attribute_ids, numbers, wd FROM lines_ingest WHERE batch_id = 1 ORDER BY tenant_id, entity_id, ts DESC ON CONFLICT (tenant_id, entity_id) DO UPDATE SET ts = excluded.ts, attribute_ids = excluded.attribute_ids, numbers = excluded.numbers, wd = excluded.wd WHERE lines_latest.ts <= excluded.ts'
\set rollups 'INSERT INTO lines_hourly_entity SELECT tenant_id, entity_id, date_trunc(''hour'', ts), attribute_ids, array_fill(1::float8, ARRAY[cardinality(numbers)]), numbers, numbers, numbers FROM lines_ingest WHERE batch_id = 1 ON CONFLICT (tenant_id, entity_id, hour) DO UPDATE SET attribute_ids = pg_temp.merge_ids(lines_hourly_entity.attribute_ids, excluded.attribute_ids), counts = pg_temp.merge_values(lines_hourly_entity.attribute_ids, lines_hourly_entity.counts, excluded.attribute_ids, excluded.counts, ''sum''), sums = pg_temp.merge_values(lines_hourly_entity.attribute_ids, lines_hourly_entity.sums, excluded.attribute_ids, excluded.sums, ''sum''), mins = pg_temp.merge_values(lines_hourly_entity.attribute_ids, lines_hourly_entity.mins, excluded.attribute_ids, excluded.mins, ''min''), maxs = pg_temp.merge_values(lines_hourly_entity.attribute_ids, lines_hourly_entity.maxs, excluded.attribute_ids, excluded.maxs, ''max'')'
\set merged 'DO $m$ DECLARE e bigint; BEGIN FOR e IN SELECT DISTINCT entity_id FROM lines_ingest ORDER BY 1 LOOP INSERT INTO lines_hourly SELECT tenant_id, date_trunc(''hour'', ts), attribute_ids, array_fill(1::float8, ARRAY[cardinality(numbers)]), numbers, numbers, numbers FROM lines_ingest WHERE batch_id = 1 AND entity_id = e ON CONFLICT (tenant_id, hour) DO UPDATE SET attribute_ids = pg_temp.merge_ids(lines_hourly.attribute_ids, excluded.attribute_ids), counts = pg_temp.merge_values(lines_hourly.attribute_ids, lines_hourly.counts, excluded.attribute_ids, excluded.counts, ''sum''), sums = pg_temp.merge_values(lines_hourly.attribute_ids, lines_hourly.sums, excluded.attribute_ids, excluded.sums, ''sum''), mins = pg_temp.merge_values(lines_hourly.attribute_ids, lines_hourly.mins, excluded.attribute_ids, excluded.mins, ''min''), maxs = pg_temp.merge_values(lines_hourly.attribute_ids, lines_hourly.maxs, excluded.attribute_ids, excluded.maxs, ''max''); END LOOP; END $m$'
\set delete 'DELETE FROM lines_ingest WHERE batch_id = 1'

\set trial 1
\ir dense-floor-trial.sql
\set trial 2
\ir dense-floor-trial.sql
\set trial 3
\ir dense-floor-trial.sql

-- What the floor keeps: the same rows as the readings, the same sums as the EAV values.
SELECT pg_temp.wide_note(format('FLOOR|0|check: lines stored, lines read|%s|%s|0|0', (SELECT count(*) FROM entity_lines_ts), :lines));
SELECT pg_temp.wide_note(format('FLOOR|0|check: PM2.5 rows merged by hour, sum, against the readings|%s|%s|0|0',
    (SELECT round(sum(sums[array_position(attribute_ids, w.attrs[1])])::numeric, 1) FROM lines_hourly, wide_ids AS w),
    (SELECT round(sum(pm25)::numeric, 1) FROM wide_aq_raw)));
DROP TABLE lines_ingest, lines_latest, lines_hourly_entity, lines_hourly;
