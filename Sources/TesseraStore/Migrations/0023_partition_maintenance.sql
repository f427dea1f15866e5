-- Partition maintenance by pg_partman, on a schedule (README: Data lifecycle and backups,
-- "Partitions: pg_partman and pg_cron"). partition_maintenance() registers entity_values_ts with
-- pg_partman when the extension is there and tessera_owner may use it (Tessera's own naming,
-- entity_values_ts_pYYYYMM, is pg_partman's with datetime_string 'YYYYMM', so no partition is
-- renamed and ensure_ts_partitions keeps making back-dated months at once), keeps the months
-- ahead made (premake) and drops whole partitions past the longest tenant window (none while a
-- tenant keeps everything): pg_partman's retention is one interval for the whole table, so the
-- per-tenant part stays Tessera's (RetentionRunner). Without pg_partman it makes the months
-- ahead itself. pg_cron runs it hourly in the database (the local cluster schedules
-- 'tessera-partitions'); without pg_cron, one server runs it under the 'partitions' lease when
-- no run is recorded for 90 minutes (PartitionMaintainer).

-- When each periodic job last ran, and how (what the servers look at before standing in).
CREATE TABLE maintenance_runs (
    job     text        PRIMARY KEY,
    ran_at  timestamptz NOT NULL,
    outcome text        NOT NULL
);
GRANT SELECT ON maintenance_runs TO tessera_app;

CREATE FUNCTION partition_maintenance(months_ahead integer DEFAULT 4)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET "TimeZone" = 'UTC' SET lock_timeout = '200ms' AS $$
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
    INSERT INTO maintenance_runs AS r (job, ran_at, outcome) VALUES ('partitions', clock_timestamp(), outcome)
    ON CONFLICT (job) DO UPDATE SET ran_at = EXCLUDED.ran_at, outcome = EXCLUDED.outcome;
    RETURN outcome;
END
$$;
REVOKE ALL ON FUNCTION partition_maintenance(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION partition_maintenance(integer) TO tessera_app;
