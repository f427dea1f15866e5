-- Tessera schema, version 8: making a month's partition no longer stops reads.
--
-- CREATE TABLE ... PARTITION OF takes an ACCESS EXCLUSIVE lock on entity_values_ts.
-- Waiting for it behind a flush (or any long write), it queued every read of the
-- series after it: a backfill into a new month, or the maintainer's monthly run,
-- could hold up every series, aggregate and lookup of non-hot attributes for as long
-- as that flush ran (seen as 504s of 2 s `eventual` reads under load). The table is
-- now created on its own and attached, which locks the parent only in SHARE UPDATE
-- EXCLUSIVE mode: reads and writes go on; ATTACH builds the parent's indexes on the
-- empty table and checks it against its range at once.
CREATE OR REPLACE FUNCTION ensure_ts_partitions(first_month date, month_count integer)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    month_start date;
    partition_name text;
    made integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(7346812001);
    FOR i IN 0 .. month_count - 1 LOOP
        month_start := (date_trunc('month', first_month) + make_interval(months => i))::date;
        partition_name := 'entity_values_ts_p' || to_char(month_start, 'YYYYMM');
        IF to_regclass(partition_name) IS NULL THEN
            EXECUTE format('CREATE TABLE %I (LIKE entity_values_ts INCLUDING ALL EXCLUDING INDEXES)', partition_name);
            EXECUTE format(
                'ALTER TABLE entity_values_ts ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                partition_name,
                month_start::timestamp AT TIME ZONE 'UTC',
                (month_start + interval '1 month')::timestamp AT TIME ZONE 'UTC'
            );
            made := made + 1;
        END IF;
    END LOOP;
    RETURN made;
END
$$;
