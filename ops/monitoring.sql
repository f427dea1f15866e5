-- Tessera's monitoring queries (README: Operating Tessera). Each names what it shows, what to look for and
-- the thresholds, and its columns. Run them as a superuser, or as a role with pg_monitor that is a member of
-- tessera_owner; `tessera ops report` runs them all and prints tables.
-- Generated from Sources/TesseraStore/Health/MonitoringQuery.swift by `tessera ops sql`; a test keeps the two equal.

-- name: write_throughput
-- Shows: Points stored per hour over the last 24 hours (numeric points, from the hourly rollups; by the
--   points' own time).
-- Look for: An hour far below its neighbours while devices report: ingest stopped or is refused (see
--   quarantine and the 4xx rate). Compare points_per_second with what your tenants send.
-- Columns: hour, numeric_points, points_per_second, tenants
SELECT to_char(hour, 'YYYY-MM-DD HH24:00') AS hour, sum(count)::bigint AS numeric_points,
       round(sum(count) / 3600.0, 1) AS points_per_second, count(DISTINCT tenant_id) AS tenants
  FROM entity_values_hourly WHERE hour >= date_trunc('hour', now()) - interval '23 hours'
 GROUP BY hour ORDER BY hour DESC;

-- name: staging_health
-- Shows: The staging table: rows and batches waiting for the flush, the age of the oldest staged point, its
--   size, batches flushed in the last hour, batches fenced (abandoned staging writes).
-- Look for: oldest_seconds above 60 (warn) or 300 (fail): the flush is stuck or behind (health_check()'s
--   staging_backlog counts the rows: warn at a million). staged_rows growing from one run to the next: ingest
--   outruns the flush.
-- Columns: staged_rows, batches, oldest_seconds, size, batches_flushed_last_hour, fenced_batches
SELECT count(*) AS staged_rows, count(DISTINCT batch_id) AS batches,
       coalesce(round(extract(epoch FROM now() - min(ingested_at))::numeric, 1), 0) AS oldest_seconds,
       pg_size_pretty(pg_total_relation_size('entity_values_ingest')) AS size,
       (SELECT count(*) FROM ingest_flushed_batches WHERE flushed_at > now() - interval '1 hour') AS batches_flushed_last_hour,
       (SELECT count(*) FROM ingest_fenced_batches) AS fenced_batches
  FROM entity_values_ingest;

-- name: partition_sizes
-- Shows: Each monthly partition of entity_values_ts: size with indexes, live and dead rows, last vacuum.
-- Look for: Partitions ahead of the current month should exist (health_check() partitions_ahead).
--   dead_percent above 20 on a past month: erasures or rewrites not yet vacuumed.
-- Columns: partition, total_size, live_rows, dead_rows, dead_percent, last_vacuum
SELECT c.relname AS partition, pg_size_pretty(pg_total_relation_size(c.oid)) AS total_size,
       s.n_live_tup AS live_rows, s.n_dead_tup AS dead_rows,
       round(100.0 * s.n_dead_tup / greatest(s.n_live_tup + s.n_dead_tup, 1), 1) AS dead_percent,
       greatest(s.last_autovacuum, s.last_vacuum) AS last_vacuum
  FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
  LEFT JOIN pg_stat_user_tables AS s ON s.relid = c.oid
 WHERE i.inhparent = 'entity_values_ts'::regclass
 ORDER BY c.relname DESC;

-- name: table_bloat
-- Shows: The 20 tables with the most dead tuples: live and dead rows, dead share, last vacuum, autovacuum
--   runs.
-- Look for: dead_percent above 20 (warn) or 50 (fail) on entity_jsonb, entity_hot_numbers or heartbeat:
--   autovacuum is not keeping up (health_check() bloat).
-- Columns: table_name, live_rows, dead_rows, dead_percent, last_vacuum, autovacuums
SELECT relname AS table_name, n_live_tup AS live_rows, n_dead_tup AS dead_rows,
       round(100.0 * n_dead_tup / greatest(n_live_tup + n_dead_tup, 1), 1) AS dead_percent,
       greatest(last_autovacuum, last_vacuum) AS last_vacuum, autovacuum_count AS autovacuums
  FROM pg_stat_user_tables
 WHERE n_live_tup + n_dead_tup > 0
 ORDER BY n_dead_tup DESC LIMIT 20;

-- name: index_usage
-- Shows: The 30 largest indexes outside the monthly partitions: scans since the statistics were reset, size,
--   whether unused.
-- Look for: unused = true on a large index: it costs every write and serves no read. A slot index
--   (entity_hot_numbers_k*) with no scans: no filter uses that slot.
-- Columns: table_name, index_name, scans, size, unused
SELECT s.relname AS table_name, s.indexrelname AS index_name, s.idx_scan AS scans,
       pg_size_pretty(pg_relation_size(s.indexrelid)) AS size,
       (s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary) AS unused
  FROM pg_stat_user_indexes AS s JOIN pg_index AS i ON i.indexrelid = s.indexrelid
 WHERE s.relname NOT LIKE 'entity_values_ts_p%'
 ORDER BY pg_relation_size(s.indexrelid) DESC LIMIT 30;

-- name: cache_hit_ratio
-- Shows: Shared-buffer hit share per table (heap and indexes), the 15 tables read most from disk.
-- Look for: hit_percent below 99 on entity_jsonb or entity_hot_numbers: lookups and filters read from disk;
--   raise shared_buffers or memory.
-- Columns: table_name, blocks_read, blocks_hit, hit_percent
SELECT relname AS table_name, heap_blks_read + coalesce(idx_blks_read, 0) AS blocks_read,
       heap_blks_hit + coalesce(idx_blks_hit, 0) AS blocks_hit,
       round(100.0 * (heap_blks_hit + coalesce(idx_blks_hit, 0)) / greatest(heap_blks_hit + coalesce(idx_blks_hit, 0) + heap_blks_read + coalesce(idx_blks_read, 0), 1), 2) AS hit_percent
  FROM pg_statio_user_tables
 WHERE heap_blks_hit + heap_blks_read > 0
 ORDER BY heap_blks_read + coalesce(idx_blks_read, 0) DESC LIMIT 15;

-- name: slow_queries
-- Shows: The 15 statements with the most total execution time (pg_stat_statements; the local cluster loads
--   it).
-- Look for: A mean_ms above 10 for a lookup (tessera_entity_state) or above a few hundred ms for the flush
--   (flush_staged): look at its plan. Needs the pg_stat_statements extension.
-- Columns: query, calls, total_ms, mean_ms, max_ms, rows
SELECT left(regexp_replace(query, '\s+', ' ', 'g'), 120) AS query, calls,
       round(total_exec_time::numeric, 1) AS total_ms, round(mean_exec_time::numeric, 3) AS mean_ms,
       round(max_exec_time::numeric, 1) AS max_ms, rows
  FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
 ORDER BY total_exec_time DESC LIMIT 15;

-- name: connections
-- Shows: Client connections by role, application and state, and max_connections.
-- Look for: The sum near max_connections (80 %): pools are too large for the server, or a pooler is missing.
--   Many idle in transaction: a client holds transactions open.
-- Columns: role_name, application, state, connections, longest_in_state_seconds, max_connections
SELECT coalesce(usename, '(background)') AS role_name, coalesce(nullif(application_name, ''), '-') AS application,
       coalesce(state, '-') AS state, count(*) AS connections,
       max(round(extract(epoch FROM now() - state_change)::numeric, 1)) AS longest_in_state_seconds,
       (SELECT setting::int FROM pg_settings WHERE name = 'max_connections') AS max_connections
  FROM pg_stat_activity
 WHERE backend_type = 'client backend'
 GROUP BY 1, 2, 3 ORDER BY connections DESC;

-- name: long_transactions
-- Shows: Transactions open longer than 30 seconds, with what they wait on.
-- Look for: Any row older than a few minutes holds back vacuum on every table and can block partition
--   creation; end it (pg_terminate_backend(pid)) if it is not a known maintenance job.
-- Columns: pid, role_name, application, state, transaction_seconds, wait_event_type, query
SELECT pid, usename AS role_name, coalesce(nullif(application_name, ''), '-') AS application, state,
       round(extract(epoch FROM now() - xact_start)::numeric, 1) AS transaction_seconds,
       wait_event_type, left(regexp_replace(query, '\s+', ' ', 'g'), 100) AS query
  FROM pg_stat_activity
 WHERE xact_start IS NOT NULL AND backend_type = 'client backend' AND pid <> pg_backend_pid()
   AND now() - xact_start > interval '30 seconds'
 ORDER BY xact_start;

-- name: replication_lag_wal
-- Shows: Each streaming replica as the primary sees it: state, bytes of WAL not yet replayed, replay and
--   write lag.
-- Look for: replay_lag_seconds above 3 (the seed's alarm): the replica gets no eventual reads
--   (TESSERA_MAX_REPLICA_LAG_MS). state other than streaming: the replica is catching up or gone. Run on the
--   primary.
-- Columns: replica, address, state, sync_state, replay_lag_bytes, replay_lag_seconds, write_lag_seconds
SELECT application_name AS replica, client_addr::text AS address, state, sync_state,
       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) AS replay_lag_bytes,
       round(extract(epoch FROM replay_lag)::numeric, 3) AS replay_lag_seconds,
       round(extract(epoch FROM write_lag)::numeric, 3) AS write_lag_seconds
  FROM pg_stat_replication ORDER BY application_name;

-- name: replication_lag_heartbeat
-- Shows: The heartbeat rows and how old each is, as this node sees them: on a replica, its lag; on the
--   primary, whether the writer beats.
-- Look for: On a replica: seconds_behind above 3. On the primary: seconds_behind above 1 means no server is
--   writing the heartbeat (no server runs).
-- Columns: node, seq, beat_at, seconds_behind, on_replica
SELECT node, seq, beat_at, round(extract(epoch FROM now() - beat_at)::numeric, 3) AS seconds_behind,
       pg_is_in_recovery() AS on_replica
  FROM heartbeat ORDER BY node;

-- name: transaction_id_age
-- Shows: Each database's oldest unfrozen transaction id, and its share of the 2 billion wraparound limit.
-- Look for: percent_to_wraparound above 10: autovacuum's anti-wraparound freezing is behind; above 50: act
--   now (VACUUM FREEZE the oldest tables).
-- Columns: database_name, xid_age, percent_to_wraparound
SELECT datname AS database_name, age(datfrozenxid) AS xid_age,
       round(100.0 * age(datfrozenxid) / 2000000000, 2) AS percent_to_wraparound
  FROM pg_database ORDER BY age(datfrozenxid) DESC;

-- name: capacity_planning
-- Shows: The database's size, the time series' size and estimated rows, bytes per point, months with data,
--   the largest month, the projection's size.
-- Look for: bytes_per_point times the points per month you expect gives a month's growth; keep free disk
--   above three months of it (the seed's alarm: free storage below 10 GB).
-- Columns: database_size, series_size, series_rows_estimate, bytes_per_point, months_with_data,
--   largest_month, projection_size
WITH months AS (
    SELECT c.relname, pg_total_relation_size(c.oid) AS bytes, greatest(c.reltuples, 0) AS rows
      FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'entity_values_ts'::regclass)
SELECT pg_size_pretty(pg_database_size(current_database())) AS database_size,
       pg_size_pretty((SELECT sum(bytes) FROM months)::bigint) AS series_size,
       (SELECT sum(rows) FROM months)::bigint AS series_rows_estimate,
       round((SELECT sum(bytes) / greatest(sum(rows), 1) FROM months)::numeric, 1) AS bytes_per_point,
       (SELECT count(*) FROM months WHERE rows > 0) AS months_with_data,
       pg_size_pretty((SELECT max(bytes) FROM months)::bigint) AS largest_month,
       pg_size_pretty(pg_total_relation_size('entity_jsonb')) AS projection_size;

-- name: tenant_usage
-- Shows: Per tenant: entities and attributes (as the caps count them), numeric points in the last 24 hours,
--   rows staged and quarantined; the 50 busiest.
-- Look for: A tenant near its max_entities or max_attributes; one tenant with most of the points (noisy
--   neighbour: see its max_points_per_second); staged or quarantined rows of one tenant.
-- Columns: tenant_id, tenant, entities, attributes, numeric_points_last_24h, staged_rows, quarantined
SELECT t.tenant_id, t.name AS tenant, t.entity_count AS entities, t.attribute_count AS attributes,
       coalesce(h.points, 0) AS numeric_points_last_24h,
       (SELECT count(*) FROM entity_values_ingest AS s WHERE s.tenant_id = t.tenant_id) AS staged_rows,
       (SELECT count(*) FROM ingest_quarantine AS q WHERE q.tenant_id = t.tenant_id) AS quarantined
  FROM tenants AS t
  LEFT JOIN (SELECT tenant_id, sum(count)::bigint AS points FROM entity_values_hourly
              WHERE hour >= now() - interval '24 hours' GROUP BY tenant_id) AS h ON h.tenant_id = t.tenant_id
 ORDER BY coalesce(h.points, 0) DESC, t.tenant_id LIMIT 50;

-- name: quarantine
-- Shows: Points held in ingest_quarantine, by tenant, SQLSTATE and reason.
-- Look for: Any row: PostgreSQL refused points the server had accepted; inspect with tessera quarantine list,
--   then replay or drop them (health_check() quarantine).
-- Columns: tenant_id, tenant, sqlstate, reason, entries, points, oldest
SELECT q.tenant_id, t.name AS tenant, coalesce(q.sqlstate, '-') AS sqlstate, left(coalesce(q.reason, '-'), 80) AS reason,
       count(*) AS entries, sum(coalesce(q.copy_rows, 1))::bigint AS points, min(q.quarantined_at) AS oldest
  FROM ingest_quarantine AS q JOIN tenants AS t USING (tenant_id)
 GROUP BY 1, 2, 3, 4 ORDER BY points DESC;
