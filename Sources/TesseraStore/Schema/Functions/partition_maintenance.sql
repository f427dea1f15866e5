-- Partition maintenance: with pg_partman (installed, and usable by tessera_owner) registers entity_values_ts in
-- partman.part_config (datetime_string 'YYYYMM': Tessera's partition names), sets premake and the retention to the
-- longest tenant window (none while a tenant keeps everything) and runs partman.run_maintenance(); else makes the
-- months ahead with ensure_ts_partitions(). Records the run in maintenance_runs; returns 'pg_partman' or 'tessera…'.
-- Called hourly by pg_cron's job 'tessera-partitions' (the local cluster schedules it), or by PartitionMaintainer
-- (one server, under the 'partitions' lease) when no run is recorded for 90 minutes.
-- Locks: pg_partman's own advisory lock in run_maintenance(); ensure_ts_partitions()'s 7346812001 without it; every lock
-- waited for at most 200 ms (lock_timeout): a partition drop that cannot have the table's lock is left for the next run.
-- Last defined in 0027_cold_months_packed.sql (drop_orphan_packs() after the maintenance; 0023 before).
CREATE OR REPLACE FUNCTION public.partition_maintenance(months_ahead integer DEFAULT 4)
 RETURNS text
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
 SET "TimeZone" TO 'UTC'
 SET lock_timeout TO '200ms'
AS $function$
DECLARE
    outcome text;
    longest integer;
    keeps_all boolean;
BEGIN
    IF to_regclass('partman.part_config') IS NOT NULL
       AND has_table_privilege('partman.part_config', 'INSERT, UPDATE')
       AND has_function_privilege('partman.run_maintenance(text, boolean, boolean)', 'EXECUTE') THEN
        SELECT bool_or(t.retention_months = 0), max(t.retention_months) INTO keeps_all, longest FROM tenants AS t;
        INSERT INTO partman.part_config (parent_table, control, partition_type, partition_interval, premake, datetime_string,
                                         infinite_time_partitions, inherit_privileges, jobmon, epoch, retention_keep_table)
        VALUES ('public.entity_values_ts', 'ts', 'native', '1 mon', months_ahead, 'YYYYMM', true, true, false, 'none', false)
        ON CONFLICT (parent_table) DO NOTHING;
        UPDATE partman.part_config
           SET premake = months_ahead,
               retention = CASE WHEN keeps_all OR longest IS NULL THEN NULL ELSE (longest - 1) || ' months' END,
               retention_keep_table = false
         WHERE parent_table = 'public.entity_values_ts';
        -- Dropping a partition locks the whole table: waited for at most 200 ms (a drop queued
        -- behind a long read would hold up every write and read queued behind it), else the
        -- next run does it. Making months ahead does not stop reads or writes.
        BEGIN
            PERFORM partman.run_maintenance('public.entity_values_ts', false, false);
            outcome := 'pg_partman';
        EXCEPTION
            WHEN lock_not_available THEN
                outcome := 'pg_partman (a lock did not come within 200 ms: the next run finishes it)';
            WHEN raise_exception THEN
                -- pg_partman catches the lock timeout and raises it again as its own error.
                IF SQLERRM NOT LIKE '%lock timeout%' THEN
                    RAISE;
                END IF;
                outcome := 'pg_partman (a lock did not come within 200 ms: the next run finishes it)';
        END;
    ELSE
        PERFORM ensure_ts_partitions(date_trunc('month', now())::date, months_ahead);
        outcome := CASE WHEN to_regclass('partman.part_config') IS NULL THEN 'tessera'
                        ELSE 'tessera (pg_partman is installed, but tessera_owner may not use it)' END;
    END IF;
    -- The packs of months whose partition a drop took.
    PERFORM drop_orphan_packs();
    INSERT INTO maintenance_runs AS r (job, ran_at, outcome) VALUES ('partitions', clock_timestamp(), outcome)
    ON CONFLICT (job) DO UPDATE SET ran_at = EXCLUDED.ran_at, outcome = EXCLUDED.outcome;
    RETURN outcome;
END
$function$;
