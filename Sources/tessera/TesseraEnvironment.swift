import Foundation
import TesseraStore

/// The environment variables Tessera reads, read once at the edge. Every one is
/// listed, with its default, in the README.
struct TesseraEnvironment {
    var directory: String
    var databaseURL: String?
    /// The role that migrates (the schema's owner or a member of `tessera_owner`); else
    /// `databaseURL`'s.
    var migrationDatabaseURL: String?
    var adminToken: String?
    var host: String
    var port: Int
    var logLevel: String
    /// One line per request at `info` (`TESSERA_ACCESS_LOG`, on).
    var accessLog: Bool
    var postgresBinDirectory: String?
    var poolSize: Int
    var maxBodyBytes: Int
    var maxIngestBodyBytes: Int
    /// Replicas' URLs, comma-separated (with TESSERA_DATABASE_URL).
    var replicaURLs: [String]
    var analyticsURL: String?
    /// TESSERA_PATRONI_URLS: Patroni REST APIs, comma-separated; with them the server follows
    /// the cluster's leader and reads from its replicas (README: High availability).
    var patroniURLs: [String]
    /// TESSERA_SPOOL_DIR: where a shutdown that could not flush leaves acknowledged batches for
    /// the next start (else `<dir>/spool` with the embedded cluster, none with a database URL).
    var spoolDirectory: String?
    /// TESSERA_FLUSH_SESSIONS: how many database sessions run each flush at once, each moving
    /// its part of the staged tenants (default 1, one flush at a time; at most 16 and half
    /// of TESSERA_DB_POOL_SIZE).
    var flushSessions: Int
    /// Replicas of the embedded cluster.
    var localReplicas: Int
    var maxReplicaLagMilliseconds: Double
    var readPoolSize: Int
    /// TESSERA_RETENTION_INTERVAL_SECONDS: how often a server applies retention (one server
    /// at a time, under a lease); 0 turns it off.
    var retentionIntervalSeconds: Int
    /// The embedded cluster's WAL archive and backups with pgBackRest (`TESSERA_BACKUPS`, on),
    /// its repository (`TESSERA_BACKUP_REPOSITORY`, else `<data root>/pgbackrest/repo`) and
    /// `archive_timeout` (`TESSERA_ARCHIVE_TIMEOUT_SECONDS`, 60: the RPO of a quiet cluster).
    var backups: Bool
    /// TESSERA_ARCHIVE_DIR: the folder `tessera archive` writes cold months to (else `<dir>/archive`).
    var archiveDirectory: String?
    var backupRepository: String?
    var archiveTimeoutSeconds: Int
    var strongTimeoutMilliseconds: Int
    var eventualTimeoutMilliseconds: Int
    var analyticsTimeoutMilliseconds: Int
    /// Redis for the read cache (else the embedded cluster's, when it runs one).
    var redisURL: String?
    /// PEM file of the CA a `rediss://` server's certificate must chain to.
    var redisCAFile: String?
    /// PEM files of the server's certificate (chain) and private key: HTTPS.
    var tlsCertificateFile: String?
    var tlsKeyFile: String?
    /// Crypto-shredding: the master key (base64, or a file of it) and the key vault.
    var masterKey: String?
    var masterKeyFile: String?
    var keyDatabaseURL: String?
    var cacheEnabled: Bool
    var cacheEntityTTLSeconds: Int
    var cacheQueryTTLSeconds: Int
    var cacheEntityTTLSliding: Bool
    var preparedStatements: Bool
    /// TESSERA_DB_POOLING: `transaction` when TESSERA_DATABASE_URL is a transaction pooler
    /// (pgbouncer, RDS Proxy); `none` for a direct connection. Unset: `none` for a given URL,
    /// and the embedded cluster's pgbouncer when it runs.
    var pooling: String?
    var handlersOnEventLoop: Bool
    /// Seconds a connection may send nothing before it is closed.
    var httpIdleTimeoutSeconds: Int
    /// Requests of one tenant a server handles at once.
    var maxConcurrentRequestsPerTenant: Int
    /// How far back (whole months before the current one) points may be written.
    var backfillHorizonMonths: Int

    init(_ environment: [String: String]) {
        func value(_ name: String) -> String? {
            guard let text = environment[name], !text.isEmpty else { return nil }
            return text
        }
        /// A switch that is on unless set to `off`.
        func isOn(_ name: String) -> Bool {
            (value(name) ?? "on").lowercased() != "off"
        }
        self.directory = value("TESSERA_DIR") ?? ".tessera"
        self.databaseURL = value("TESSERA_DATABASE_URL")
        self.migrationDatabaseURL = value("TESSERA_MIGRATION_DATABASE_URL")
        self.adminToken = value("TESSERA_ADMIN_TOKEN")
        self.host = value("TESSERA_HOST") ?? "127.0.0.1"
        self.port = value("TESSERA_PORT").flatMap(Int.init) ?? 8080
        self.logLevel = value("TESSERA_LOG_LEVEL") ?? "info"
        self.accessLog = isOn("TESSERA_ACCESS_LOG")
        self.postgresBinDirectory = value("TESSERA_PG_BINDIR")
        self.poolSize = value("TESSERA_DB_POOL_SIZE").flatMap(Int.init) ?? 20
        self.maxBodyBytes = value("TESSERA_MAX_BODY_BYTES").flatMap(Int.init) ?? 1 << 20
        self.maxIngestBodyBytes = value("TESSERA_MAX_INGEST_BODY_BYTES").flatMap(Int.init) ?? 256 << 20
        self.replicaURLs = (value("TESSERA_REPLICA_URLS") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        self.analyticsURL = value("TESSERA_ANALYTICS_URL")
        self.patroniURLs = (value("TESSERA_PATRONI_URLS") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        self.spoolDirectory = value("TESSERA_SPOOL_DIR")
        // Each session holds a connection of the primary pool for the flush: at most half the
        // pool, so strong reads, the catalog and the checks keep theirs.
        let sessions = value("TESSERA_FLUSH_SESSIONS").flatMap(Int.init) ?? IngestPipeline.Configuration().flushSessions
        self.flushSessions = max(1, min(sessions, 16, self.poolSize / 2))
        self.localReplicas = value("TESSERA_REPLICAS").flatMap(Int.init) ?? 2
        self.maxReplicaLagMilliseconds = value("TESSERA_MAX_REPLICA_LAG_MS").flatMap(Double.init) ?? 3_000
        self.readPoolSize = value("TESSERA_READ_POOL_SIZE").flatMap(Int.init) ?? 10
        self.retentionIntervalSeconds = max(0, value("TESSERA_RETENTION_INTERVAL_SECONDS").flatMap(Int.init) ?? 600)
        self.backups = isOn("TESSERA_BACKUPS")
        self.archiveDirectory = value("TESSERA_ARCHIVE_DIR")
        self.backupRepository = value("TESSERA_BACKUP_REPOSITORY")
        self.archiveTimeoutSeconds = max(1, value("TESSERA_ARCHIVE_TIMEOUT_SECONDS").flatMap(Int.init) ?? 60)
        self.strongTimeoutMilliseconds = value("TESSERA_STRONG_TIMEOUT_MS").flatMap(Int.init) ?? 5_000
        self.eventualTimeoutMilliseconds = value("TESSERA_EVENTUAL_TIMEOUT_MS").flatMap(Int.init) ?? 2_000
        self.analyticsTimeoutMilliseconds = value("TESSERA_ANALYTICS_TIMEOUT_MS").flatMap(Int.init) ?? 30_000
        self.redisURL = value("TESSERA_REDIS_URL")
        self.redisCAFile = value("TESSERA_REDIS_CA_FILE")
        self.tlsCertificateFile = value("TESSERA_TLS_CERT")
        self.tlsKeyFile = value("TESSERA_TLS_KEY")
        self.masterKey = value("TESSERA_MASTER_KEY")
        self.masterKeyFile = value("TESSERA_MASTER_KEY_FILE")
        self.keyDatabaseURL = value("TESSERA_KEY_DATABASE_URL")
        self.cacheEnabled = isOn("TESSERA_CACHE")
        self.cacheEntityTTLSeconds = value("TESSERA_CACHE_ENTITY_TTL_S").flatMap(Int.init) ?? 300
        self.cacheQueryTTLSeconds = value("TESSERA_CACHE_QUERY_TTL_S").flatMap(Int.init) ?? 60
        self.cacheEntityTTLSliding = isOn("TESSERA_CACHE_ENTITY_TTL_SLIDING")
        self.preparedStatements = isOn("TESSERA_DB_PREPARED_STATEMENTS")
        self.pooling = value("TESSERA_DB_POOLING")
        self.handlersOnEventLoop = isOn("TESSERA_HTTP_HANDLERS_ON_EVENT_LOOP")
        self.httpIdleTimeoutSeconds = value("TESSERA_HTTP_IDLE_TIMEOUT_S").flatMap(Int.init) ?? 60
        self.maxConcurrentRequestsPerTenant = value("TESSERA_MAX_CONCURRENT_REQUESTS_PER_TENANT").flatMap(Int.init) ?? 32
        self.backfillHorizonMonths = value("TESSERA_BACKFILL_HORIZON_MONTHS").flatMap(Int.init) ?? 240
    }
}
