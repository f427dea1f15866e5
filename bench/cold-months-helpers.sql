-- The helpers of bench/cold-months.sql and bench/cold-months-synthetic.sql: a COLD|... line, and a
-- read's median of 21 runs with an order-independent checksum of its rows.
CREATE OR REPLACE FUNCTION pg_temp.cold_note(line text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN RAISE NOTICE '%', line; END $f$;

-- Median ms of 21 runs (after one not counted) and the rows the read returned.
CREATE OR REPLACE FUNCTION pg_temp.cold_read(label text, q text) RETURNS void LANGUAGE plpgsql AS $f$
DECLARE t0 timestamptz; ms double precision[] := '{}'; n bigint; s text;
BEGIN
    EXECUTE 'SELECT count(*), md5(string_agg(r::text, ''|'' ORDER BY r::text)) FROM (' || q || ') AS r' INTO n, s;
    FOR i IN 1..21 LOOP
        t0 := clock_timestamp();
        EXECUTE 'SELECT count(*) FROM (' || q || ') AS r' INTO n;
        ms := ms || extract(epoch FROM clock_timestamp() - t0) * 1000;
    END LOOP;
    RAISE NOTICE 'COLD|%|% ms|% rows|md5 %', label,
        round((SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(ms) AS x)::numeric, 3), n, left(s, 8);
END $f$;
