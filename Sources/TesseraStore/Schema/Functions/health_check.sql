-- One row per check, each ok, warn or fail, with its value: staging_backlog, staging_age (oldest staged point),
-- flush_failures (flush_status), quarantine, partitions_ahead (ts_partition_months_ahead()), replica_lag (on the
-- primary one row per replica, replica_lag:<name>, and per replication slot nobody streams from; on a replica its
-- replayed heartbeat), bloat (worst dead-tuple share), xid_age (% to wraparound), connections (share of
-- max_connections), wal_archive (WAL segments waiting to be archived, and whether archiving fails) and
-- partition_maintenance (seconds since partition_maintenance() last ran). Thresholds from health_threshold(). The owner's (definer): the server's role reads it for /readyz.
-- Called by HealthReport.read (`tessera health`, `/readyz`).
-- Locks: none.
-- Last defined in 0024_lifecycle_health_checks.sql (first in 0001_schema.sql; also 0010, 0020).
CREATE OR REPLACE FUNCTION public.health_check()
 RETURNS TABLE(check_name text, status text, value double precision, detail text)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
DECLARE
    backlog bigint;
    oldest timestamptz;
    age_seconds double precision;
    flush record;
    months integer;
    replica record;
    replicas integer := 0;
    lag_seconds double precision;
    dead_ratio double precision;
    worst_table text;
    held bigint;
    xid_percent double precision;
    used double precision;
    archiver record;
    ready bigint;
    failing boolean;
    maintenance record;
    warn double precision;
    fail double precision;
BEGIN
    -- The staging table is UNLOGGED: a hot standby cannot read it (its rows are the primary's).
    IF pg_is_in_recovery() THEN
        backlog := 0;
    ELSE
        SELECT count(*) INTO backlog FROM (SELECT 1 FROM entity_values_ingest LIMIT 10000001) AS staged;
    END IF;
    warn := health_threshold('staging_backlog_warn', 1000000);
    fail := health_threshold('staging_backlog_fail', 10000000);
    check_name := 'staging_backlog';
    value := backlog;
    status := CASE WHEN backlog < warn THEN 'ok' WHEN backlog < fail THEN 'warn' ELSE 'fail' END;
    detail := CASE WHEN pg_is_in_recovery() THEN 'this node is a replica; staging is on the primary'
                   ELSE backlog || ' rows waiting in entity_values_ingest' END;
    RETURN NEXT;

    IF NOT pg_is_in_recovery() THEN
        SELECT min(ingested_at) INTO oldest FROM entity_values_ingest;
    END IF;
    age_seconds := coalesce(extract(epoch FROM now() - oldest), 0);
    warn := health_threshold('staging_age_warn', 60);
    fail := health_threshold('staging_age_fail', 300);
    check_name := 'staging_age';
    value := age_seconds;
    status := CASE WHEN age_seconds < warn THEN 'ok' WHEN age_seconds < fail THEN 'warn' ELSE 'fail' END;
    detail := CASE WHEN oldest IS NULL THEN 'nothing staged'
                   ELSE 'the oldest staged point waits for the flush since ' || round(age_seconds::numeric, 1) || ' s' END;
    RETURN NEXT;

    SELECT * INTO flush FROM flush_status;
    warn := health_threshold('flush_failures_warn', 1);
    fail := health_threshold('flush_failures_fail', 10);
    check_name := 'flush_failures';
    value := coalesce(flush.failures_since_success, 0);
    IF flush.failures_since_success > 0 AND flush.last_failure_at > now() - interval '15 minutes' THEN
        status := CASE WHEN value < warn THEN 'ok' WHEN value < fail THEN 'warn' ELSE 'fail' END;
        detail := value || ' flushes failed in a row, the last at ' || to_char(flush.last_failure_at AT TIME ZONE 'UTC', 'HH24:MI:SS')
                  || ' UTC: ' || coalesce(flush.last_error, '');
    ELSE
        status := 'ok';
        detail := CASE WHEN flush.last_success_at IS NULL THEN 'no flush reported yet'
                       ELSE 'the flush works (last reported ' || to_char(flush.last_success_at AT TIME ZONE 'UTC', 'HH24:MI:SS') || ' UTC)' END;
    END IF;
    RETURN NEXT;

    SELECT coalesce(sum(coalesce(copy_rows, 1)), 0) INTO held FROM ingest_quarantine;
    check_name := 'quarantine';
    value := held;
    status := CASE WHEN held = 0 THEN 'ok' ELSE 'warn' END;
    detail := CASE WHEN held = 0 THEN 'no rows in quarantine'
                   ELSE held || ' points in ingest_quarantine: see tessera quarantine list' END;
    RETURN NEXT;

    months := ts_partition_months_ahead();
    check_name := 'partitions_ahead';
    value := months;
    status := CASE WHEN months >= 3 THEN 'ok' WHEN months >= 1 THEN 'warn' ELSE 'fail' END;
    detail := months || ' consecutive monthly partitions from the current month';
    RETURN NEXT;

    warn := health_threshold('replica_lag_warn', 1);
    fail := health_threshold('replica_lag_fail', 3);
    IF pg_is_in_recovery() THEN
        SELECT extract(epoch FROM now() - max(beat_at)) INTO lag_seconds FROM heartbeat;
        check_name := 'replica_lag';
        value := coalesce(lag_seconds, 0);
        status := CASE WHEN lag_seconds IS NULL OR lag_seconds < warn THEN 'ok' WHEN lag_seconds < fail THEN 'warn' ELSE 'fail' END;
        detail := 'this node is a replica; lag from the replayed heartbeat';
        RETURN NEXT;
    ELSE
        -- Each replica streaming now, then each replication slot nobody streams from: a
        -- replica that stopped (its slot keeps WAL for it, filling the primary's disk).
        -- Replicas that share a name (walreceiver's default) are told apart by their walsender's pid.
        FOR replica IN
            SELECT named.name || CASE WHEN count(*) OVER (PARTITION BY named.name) > 1 THEN ' (pid ' || named.pid || ')' ELSE '' END AS name,
                   named.seconds, named.state
              FROM (SELECT coalesce(nullif(r.application_name, ''), r.client_addr::text, 'pid ' || r.pid) AS name, r.pid,
                           extract(epoch FROM r.replay_lag) AS seconds, r.state
                      FROM pg_stat_replication AS r) AS named
             ORDER BY 1
        LOOP
            replicas := replicas + 1;
            check_name := 'replica_lag:' || replica.name;
            value := coalesce(replica.seconds, 0);
            status := CASE WHEN replica.seconds IS NULL OR replica.seconds < warn THEN 'ok' WHEN replica.seconds < fail THEN 'warn' ELSE 'fail' END;
            detail := 'replica ' || replica.name || ' is ' || replica.state || '; replay lag ' || round(value::numeric, 3) || ' s';
            RETURN NEXT;
        END LOOP;
        FOR replica IN
            SELECT s.slot_name AS name, pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn) AS behind
              FROM pg_replication_slots AS s
             WHERE s.slot_type = 'physical' AND NOT s.active ORDER BY 1
        LOOP
            replicas := replicas + 1;
            check_name := 'replica_lag:' || replica.name;
            value := coalesce(replica.behind, 0);
            status := 'fail';
            detail := 'replication slot ' || replica.name || ' has no replica connected; it holds '
                      || pg_size_pretty(coalesce(replica.behind, 0)::bigint) || ' of WAL';
            RETURN NEXT;
        END LOOP;
        IF replicas = 0 THEN
            check_name := 'replica_lag';
            value := 0;
            status := 'ok';
            detail := 'no replicas';
            RETURN NEXT;
        END IF;
    END IF;

    SELECT s.relname, s.n_dead_tup::double precision / (s.n_live_tup + s.n_dead_tup)
      INTO worst_table, dead_ratio
      FROM pg_stat_user_tables AS s
     -- Not the staging table: the flush empties it many times a second, so it is mostly
     -- dead tuples between two autovacuums by design.
     WHERE s.n_live_tup + s.n_dead_tup > 1000 AND s.relname <> 'entity_values_ingest'
     ORDER BY 2 DESC
     LIMIT 1;
    warn := health_threshold('bloat_warn', 0.2);
    fail := health_threshold('bloat_fail', 0.5);
    check_name := 'bloat';
    value := coalesce(dead_ratio, 0);
    status := CASE WHEN dead_ratio IS NULL OR dead_ratio < warn THEN 'ok' WHEN dead_ratio < fail THEN 'warn' ELSE 'fail' END;
    detail := CASE WHEN worst_table IS NULL THEN 'no table large enough to judge'
                   ELSE 'highest dead-tuple share: ' || worst_table END;
    RETURN NEXT;

    SELECT max(age(datfrozenxid))::double precision / 2147483648 * 100 INTO xid_percent FROM pg_database;
    warn := health_threshold('xid_age_warn', 10);
    fail := health_threshold('xid_age_fail', 50);
    check_name := 'xid_age';
    value := coalesce(xid_percent, 0);
    status := CASE WHEN value < warn THEN 'ok' WHEN value < fail THEN 'warn' ELSE 'fail' END;
    detail := 'the oldest unfrozen transaction ID is ' || round(value::numeric, 4) || ' % of the way to wraparound';
    RETURN NEXT;

    SELECT count(*)::double precision / current_setting('max_connections')::double precision INTO used
      FROM pg_stat_activity WHERE backend_type = 'client backend';
    warn := health_threshold('connections_warn', 0.8);
    fail := health_threshold('connections_fail', 0.95);
    check_name := 'connections';
    value := used;
    status := CASE WHEN used < warn THEN 'ok' WHEN used < fail THEN 'warn' ELSE 'fail' END;
    detail := round((used * 100)::numeric, 1) || ' % of max_connections (' || current_setting('max_connections') || ') in use by clients';
    RETURN NEXT;

    -- The WAL archive (pgBackRest's on the local cluster): failing, or falling behind.
    check_name := 'wal_archive';
    IF pg_is_in_recovery() OR current_setting('archive_mode') = 'off' THEN
        value := 0;
        status := 'ok';
        detail := CASE WHEN pg_is_in_recovery() THEN 'this node is a replica; the primary archives'
                       ELSE 'archive_mode is off: no WAL archive here (a managed database keeps its own)' END;
    ELSE
        SELECT a.last_archived_time, a.last_failed_time, a.last_failed_wal INTO archiver FROM pg_stat_archiver AS a;
        SELECT count(*) INTO ready FROM pg_ls_archive_statusdir() AS s WHERE s.name LIKE '%.ready';
        failing := archiver.last_failed_time IS NOT NULL
                   AND archiver.last_failed_time > coalesce(archiver.last_archived_time, '-infinity'::timestamptz);
        warn := health_threshold('wal_archive_ready_warn', 16);
        fail := health_threshold('wal_archive_ready_fail', 256);
        value := ready;
        status := CASE WHEN ready >= fail OR (failing AND ready >= warn) THEN 'fail'
                       WHEN failing OR ready >= warn THEN 'warn' ELSE 'ok' END;
        detail := CASE WHEN failing THEN 'archiving fails (last at ' || to_char(archiver.last_failed_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
                                         || ' UTC, ' || archiver.last_failed_wal || '); ' || ready || ' WAL segments wait: see the archive_command''s log'
                       ELSE ready || ' WAL segments wait to be archived; the last was archived '
                            || coalesce(round(extract(epoch FROM now() - archiver.last_archived_time))::text || ' s ago', 'never') END;
    END IF;
    RETURN NEXT;

    -- Partition maintenance (pg_cron hourly, or a server standing in): when it last ran.
    SELECT r.ran_at, r.outcome INTO maintenance FROM maintenance_runs AS r WHERE r.job = 'partitions';
    warn := health_threshold('partition_maintenance_age_warn', 7200);
    fail := health_threshold('partition_maintenance_age_fail', 86400);
    check_name := 'partition_maintenance';
    value := coalesce(extract(epoch FROM now() - maintenance.ran_at), 0);
    status := CASE WHEN maintenance.ran_at IS NULL OR value < warn THEN 'ok' WHEN value < fail THEN 'warn' ELSE 'fail' END;
    detail := CASE WHEN maintenance.ran_at IS NULL THEN 'not run yet (pg_cron, or one server under a lease, runs it hourly)'
                   ELSE 'last run ' || round(value::numeric) || ' s ago, by ' || maintenance.outcome END;
    RETURN NEXT;
END
$function$;
