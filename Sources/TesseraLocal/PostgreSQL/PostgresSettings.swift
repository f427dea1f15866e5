/// The `postgresql.conf` settings the local cluster runs with, written to
/// `tessera.conf` in each data directory (and included from `postgresql.conf`).
enum PostgresSettings {
    /// Tuned for this kind of machine: 2 cores, 24 GiB, shared with the Swift server,
    /// Redis, replicas and a build. Each line says why.
    static let tuned = """
        # Written by tessera cluster up; edits are overwritten at the next start.
        listen_addresses = '127.0.0.1'        # loopback only
        unix_socket_directories = ''          # TCP only: no socket folder to own or to outgrow the path limit
        max_connections = 200                 # several servers' pools (20 each) plus tools
        max_locks_per_transaction = 1024      # a read with no time bound locks every month's partition and its 3 indexes: 240 months back + 4 ahead (TESSERA_BACKFILL_HORIZON_MONTHS)
        shared_buffers = 2GB                  # ~1/12 of RAM: primary and replicas share the machine's page cache
        effective_cache_size = 12GB           # what the OS page cache can hold for us
        work_mem = 32MB                       # hourly aggregates sort/hash in memory; few concurrent queries
        maintenance_work_mem = 512MB          # faster index builds and vacuums of big partitions
        wal_level = replica                   # streaming replicas
        max_wal_senders = 10
        max_replication_slots = 10
        max_slot_wal_keep_size = 32GB         # WAL kept for a replica that is down or behind, at most (then it must be cloned again)
        hot_standby = on
        wal_compression = lz4                 # full-page images of the flush's random upserts: pglz (`on`) made it ~1.4x slower (BENCHMARKS.md)
        wal_buffers = 64MB                    # absorbs COPY bursts between WAL writes
        max_wal_size = 8GB                    # fewer checkpoints during sustained ingest
        min_wal_size = 1GB
        checkpoint_timeout = 15min
        checkpoint_completion_target = 0.9
        random_page_cost = 1.1                # SSD
        effective_io_concurrency = 200        # SSD
        max_worker_processes = 8
        max_parallel_workers = 2              # = cores
        max_parallel_workers_per_gather = 1   # one helper per query: the other core serves ingest
        max_parallel_maintenance_workers = 1
        jit = off                             # JIT compile time exceeds the run time of our short queries
        autovacuum_naptime = 10s              # the projection and heartbeat churn; keep their bloat low
        autovacuum_vacuum_scale_factor = 0.05
        autovacuum_analyze_scale_factor = 0.02
        log_min_duration_statement = 1000     # log statements slower than 1 s
        log_line_prefix = '%m [%p] %q%u@%d '

        """

    /// The modules loaded at start, of those installed: `pg_stat_statements` (contrib: the
    /// statements' counts and times, which `ops/monitoring.sql` reads) and `pgaudit`.
    static func preload(_ libraries: [String]) -> String {
        guard !libraries.isEmpty else { return "" }
        return """
            shared_preload_libraries = '\(libraries.joined(separator: ", "))'
            pg_stat_statements.max = 5000         # distinct statements kept (Tessera sends a few dozen shapes)
            pg_stat_statements.track = top

            """
    }

    /// pg_cron (Debian's `postgresql-15-cron`), when installed: jobs run in `database` by background
    /// workers (no connection, so no password to keep), which schedule the partition maintenance.
    static func cron(database: String) -> String {
        """
        cron.database_name = '\(database.replacingOccurrences(of: "'", with: "''"))'   # pg_cron's jobs live in Tessera's database
        cron.use_background_workers = on      # jobs run in background workers, not over a connection that needs a password
        cron.max_running_jobs = 4             # within max_worker_processes

        """
    }

    /// pgaudit (Debian's `postgresql-15-pgaudit`), when installed: every DDL statement and
    /// every change of roles and grants, by whom, in the server's log (`AUDIT: SESSION,…`).
    /// Tenants' data access is audited by Tessera itself (`audit_log`).
    static let audit = """
        pgaudit.log = 'ddl, role'             # schema changes; roles and grants (the cluster sets tessera_app's password with it off)
        pgaudit.log_catalog = off             # not the catalog reads of psql and drivers
        pgaudit.log_parameter = off

        """

    /// For test clusters: the same shape, small memory and no fsync, so a suite
    /// starts in seconds and leaves the machine's memory to the tests.
    static let test = """
        # Written by tessera cluster up (test profile).
        listen_addresses = '127.0.0.1'
        unix_socket_directories = ''
        max_connections = 800                 # dozens of test servers run at once, each with write, read and staging pools
        max_locks_per_transaction = 256       # the horizon's partitions for a read with no time bound (tests write few months)
        shared_buffers = 128MB
        work_mem = 16MB
        wal_level = replica
        max_wal_senders = 10
        max_replication_slots = 10
        max_slot_wal_keep_size = 4GB
        hot_standby = on
        fsync = off                           # tests do not survive OS crashes; process crashes are still safe
        jit = off
        max_worker_processes = 16             # pg_cron's jobs start background workers: parallel queries of the suite's
        max_parallel_workers = 4              # tests must not take every slot (with 8 slots a job's worker once failed to start)
        max_parallel_workers_per_gather = 1
        autovacuum_naptime = 10s
        log_line_prefix = '%m [%p] %q%u@%d '

        """
}
