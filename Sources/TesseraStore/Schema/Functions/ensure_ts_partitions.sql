-- Makes the missing monthly partitions entity_values_ts_pYYYYMM (UTC months) for month_count months from
-- first_month: CREATE TABLE, then ATTACH PARTITION (SHARE UPDATE EXCLUSIVE on the parent: reads and writes go on).
-- A month in archived_months (archived to cold storage, or being archived) is not made again. Returns how many it made.
-- Called by Migrator and PartitionMaintainer (PartitionMaintainer.ensurePartitions),
-- PartitionGuard (before writing to a new month), Quarantine.replay and tessera-bench's ReadBenchDataset.
-- Locks: pg_advisory_xact_lock(7346812001) (partition creation; no Swift constant).
-- Runs as tessera_owner (SECURITY DEFINER, search_path fixed) since 0013: it crosses the tenant wall.
-- Last defined in 0022_archived_months.sql (also 0001, 0008).
CREATE OR REPLACE FUNCTION public.ensure_ts_partitions(first_month date, month_count integer)
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
DECLARE
    month_start date;
    partition_name text;
    made integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(7346812001);
    FOR i IN 0 .. month_count - 1 LOOP
        month_start := (date_trunc('month', first_month) + make_interval(months => i))::date;
        partition_name := 'entity_values_ts_p' || to_char(month_start, 'YYYYMM');
        IF to_regclass(partition_name) IS NULL
           AND NOT EXISTS (SELECT 1 FROM archived_months AS a WHERE a.month = month_start) THEN
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
$function$;
