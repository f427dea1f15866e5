-- health_check() covers every alarm (README: Operating Tessera): the staging backlog and the
-- age of its oldest point, flush failures, the quarantine, partitions ahead, the lag of each
-- replica (and replicas that are not connected), bloat, transaction-ID age and connection
-- saturation. Runs as tessera_owner.
--
-- Thresholds have defaults and may be set per session or per role, e.g.
--   ALTER ROLE tessera_app SET tessera.health_connections_warn = '0.7';
-- (tessera.health_<check>_warn and _fail, each a number in the check's unit).

-- How the flush has fared lately, as the servers that run it report (record_flush_outcome()).
CREATE TABLE flush_status (
    singleton              boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    last_success_at        timestamptz,
    last_failure_at        timestamptz,
    failures_since_success integer     NOT NULL DEFAULT 0,
    last_error             text
);
INSERT INTO flush_status DEFAULT VALUES;

-- A server's flush succeeded (failed = false) or failed (with its error). A success is
-- written only when it changes something an operator reads: after failures, or when the
-- last one recorded is over ten seconds old, so a busy flusher adds no write per flush.
CREATE FUNCTION record_flush_outcome(failed boolean, error text)
RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE flush_status
       SET last_failure_at = CASE WHEN failed THEN now() ELSE last_failure_at END,
           failures_since_success = CASE WHEN failed THEN failures_since_success + 1 ELSE 0 END,
           last_error = CASE WHEN failed THEN left(error, 500) ELSE last_error END,
           last_success_at = CASE WHEN failed THEN last_success_at ELSE now() END
     WHERE failed OR failures_since_success > 0 OR last_success_at IS NULL OR last_success_at < now() - interval '10 seconds';
$$;
REVOKE ALL ON FUNCTION record_flush_outcome(boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION record_flush_outcome(boolean, text) TO tessera_app;

-- A threshold of health_check(): the setting tessera.health_<name>, else the default.
CREATE FUNCTION health_threshold(name text, fallback double precision)
RETURNS double precision
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
    SELECT coalesce(nullif(current_setting('tessera.health_' || name, true), '')::double precision, fallback);
$$;

-- One row per check, each ok, warn or fail, with its value and what it means. The owner's,
-- so the server's role (/readyz) reads the staging table and the quarantine it may only
-- insert into; replay lag columns need the owner to hold pg_monitor (the local cluster grants
-- it; without it, only replicas that are not connected show).
DROP FUNCTION health_check();
CREATE FUNCTION health_check()
RETURNS TABLE (check_name text, status text, value double precision, detail text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
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
END
$$;
REVOKE ALL ON FUNCTION health_check() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION health_check() TO tessera_app;
