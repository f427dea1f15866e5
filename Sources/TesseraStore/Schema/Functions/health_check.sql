-- One row per check, each ok, warn or fail: staging_backlog, partitions_ahead (ts_partition_months_ahead()),
-- replica_lag (heartbeat on a replica, pg_stat_replication on the primary), bloat (worst dead-tuple share)
-- and quarantine (points held in ingest_quarantine).
-- Called by HealthReport.read (`tessera health`).
-- Locks: none.
-- Last defined in 0010_point_identity_and_quarantine.sql (first in 0001_schema.sql).
CREATE OR REPLACE FUNCTION public.health_check()
 RETURNS TABLE(check_name text, status text, value double precision, detail text)
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
    backlog bigint;
    months integer;
    lag_seconds double precision;
    dead_ratio double precision;
    worst_table text;
    held bigint;
BEGIN
    SELECT count(*) INTO backlog FROM (SELECT 1 FROM entity_values_ingest LIMIT 10000001) AS staged;
    check_name := 'staging_backlog';
    value := backlog;
    status := CASE WHEN backlog < 1000000 THEN 'ok' WHEN backlog < 10000000 THEN 'warn' ELSE 'fail' END;
    detail := backlog || ' rows waiting in entity_values_ingest';
    RETURN NEXT;

    months := ts_partition_months_ahead();
    check_name := 'partitions_ahead';
    value := months;
    status := CASE WHEN months >= 3 THEN 'ok' WHEN months >= 1 THEN 'warn' ELSE 'fail' END;
    detail := months || ' consecutive monthly partitions from the current month';
    RETURN NEXT;

    check_name := 'replica_lag';
    IF pg_is_in_recovery() THEN
        SELECT extract(epoch FROM now() - max(beat_at)) INTO lag_seconds FROM heartbeat;
        detail := 'this node is a replica; lag from the replayed heartbeat';
    ELSE
        SELECT max(extract(epoch FROM replay_lag)) INTO lag_seconds FROM pg_stat_replication;
        detail := (SELECT count(*) FROM pg_stat_replication) || ' streaming replicas; worst replay lag';
    END IF;
    value := coalesce(lag_seconds, 0);
    status := CASE WHEN lag_seconds IS NULL OR lag_seconds < 1 THEN 'ok' WHEN lag_seconds < 3 THEN 'warn' ELSE 'fail' END;
    RETURN NEXT;

    SELECT s.relname, s.n_dead_tup::double precision / (s.n_live_tup + s.n_dead_tup)
      INTO worst_table, dead_ratio
      FROM pg_stat_user_tables AS s
     WHERE s.n_live_tup + s.n_dead_tup > 1000
     ORDER BY 2 DESC
     LIMIT 1;
    check_name := 'bloat';
    value := coalesce(dead_ratio, 0);
    status := CASE WHEN dead_ratio IS NULL OR dead_ratio < 0.2 THEN 'ok' WHEN dead_ratio < 0.5 THEN 'warn' ELSE 'fail' END;
    detail := CASE WHEN worst_table IS NULL THEN 'no table large enough to judge'
                   ELSE 'highest dead-tuple share: ' || worst_table END;
    RETURN NEXT;

    SELECT coalesce(sum(coalesce(copy_rows, 1)), 0) INTO held FROM ingest_quarantine;
    check_name := 'quarantine';
    value := held;
    status := CASE WHEN held = 0 THEN 'ok' ELSE 'warn' END;
    detail := CASE WHEN held = 0 THEN 'no rows in quarantine'
                   ELSE held || ' points in ingest_quarantine: see tessera quarantine list' END;
    RETURN NEXT;
END
$function$;
