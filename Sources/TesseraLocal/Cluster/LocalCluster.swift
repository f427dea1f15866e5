import Foundation
import Logging
import TesseraCore

/// The embedded local cluster: a PostgreSQL 15 primary (and optionally streaming
/// replicas) started from the system's binaries on 127.0.0.1, and a Redis for the
/// cache when `redis-server` is installed; its state kept in a directory (`.tessera`
/// by default).
///
/// `up` initialises on first use and reuses the data afterwards; `down` stops what
/// `up` started, by pid. When run as root PostgreSQL runs as the `postgres` user
/// (it refuses root); Redis runs as whoever runs `tessera`.
package struct LocalCluster: Sendable {
    package struct Configuration: Sendable {
        package var directory: String
        package var profile: Profile
        /// Streaming replicas of the primary (hot standbys), `replica-1` … `replica-N`.
        package var replicas: Int
        package var databaseName: String
        package var superuser: String
        /// Overrides where the PostgreSQL binaries are (`TESSERA_PG_BINDIR`).
        package var binDirectory: String?
        /// Whether to run PostgreSQL; off for a cache-only cluster (the cache tests').
        package var postgreSQL: Bool
        package var redis: RedisMode
        /// Prometheus and the exporters beside the cluster; nil: none (they keep running
        /// if an earlier `up` started them).
        package var monitoring: MonitoringSettings?
        /// pgbouncer in front of the primary (component `pgbouncer`), when installed; nil: none.
        package var pooler: PoolerSettings?
        /// The primary's WAL archived continuously by pgBackRest, and a first full backup,
        /// when pgBackRest is installed; nil: no archive.
        package var backups: BackupSettings?
        /// Three PostgreSQL nodes managed by Patroni with a local etcd (`node-1` … `node-3`,
        /// synchronous mode) instead of a primary and `replicas`; README: High availability.
        package var ha: Bool

        /// Whether `up` runs Redis (component `redis`).
        package enum RedisMode: Sendable {
            /// Not at all.
            case off
            /// When `redis-server` is installed; otherwise `up` logs a notice and goes on
            /// without it, so PostgreSQL-only machines still work.
            case whenInstalled
            /// Always: `up` fails when `redis-server` is missing.
            case required
        }

        package enum Profile: String, Sendable {
            /// Tuned for serving on this machine.
            case tuned
            /// Small and fast to start, for test suites.
            case test
        }

        package init(
            directory: String,
            profile: Profile = .tuned,
            replicas: Int = 0,
            databaseName: String = "tessera",
            superuser: String = "tessera",
            binDirectory: String? = nil,
            postgreSQL: Bool = true,
            redis: RedisMode = .whenInstalled,
            monitoring: MonitoringSettings? = nil,
            pooler: PoolerSettings? = nil,
            backups: BackupSettings? = nil,
            ha: Bool = false
        ) {
            self.ha = ha
            self.backups = backups
            self.monitoring = monitoring
            self.pooler = pooler
            self.directory = directory
            self.profile = profile
            self.replicas = replicas
            self.databaseName = databaseName
            self.superuser = superuser
            self.binDirectory = binDirectory
            self.postgreSQL = postgreSQL
            self.redis = redis
        }
    }

    package let configuration: Configuration
    let logger: Logger

    /// The database of the entities' data keys, beside the data's (`TESSERA_KEY_DATABASE_URL`
    /// elsewhere). On one instance for development: in production the vault is an instance of
    /// its own, backed up apart from the data (README: Security, "Crypto-shredding").
    package static let keyDatabaseName = "tessera_keys"

    package init(configuration: Configuration, logger: Logger) {
        var configuration = configuration
        configuration.directory = URL(fileURLWithPath: configuration.directory).standardizedFileURL.path
        self.configuration = configuration
        self.logger = logger
    }

    /// Starts whatever is not running (initialising it first if new) and returns the status.
    package func up() async throws -> ClusterStatus {
        try await offloaded { try self.upBlocking() }
    }

    /// Stops every component this cluster started and returns the status.
    package func down() async throws -> ClusterStatus {
        try await offloaded { try self.downBlocking() }
    }

    /// Stops one component (`replica-1` or `redis`, say) and leaves the rest running;
    /// `up` starts it again. For failover drills and tests.
    package func stop(component name: String) async throws {
        try await offloaded {
            let state = try ClusterStateFile(directory: self.configuration.directory).load()
            guard let component = state.components[name] else { throw LocalClusterError.unknownComponent(name) }
            try Self.stop(name: name, component: component, logger: self.logger)
        }
    }

    /// Starts Prometheus and the exporters beside a running cluster (what `up` does with
    /// `monitoring` set), leaving the rest as it is; returns the status.
    package func startMonitoring(_ settings: MonitoringSettings) async throws -> ClusterStatus {
        try await offloaded {
            let stateFile = ClusterStateFile(directory: self.configuration.directory)
            var state = try stateFile.load()
            try self.upMonitoring(settings, state: &state, stateFile: stateFile)
            return self.status(from: state)
        }
    }

    /// Stops Prometheus and the exporters, leaving the rest running.
    package func stopMonitoring() async throws {
        try await offloaded {
            let state = try ClusterStateFile(directory: self.configuration.directory).load()
            for (name, component) in state.components where component.role == "monitoring" {
                try Self.stop(name: name, component: component, logger: self.logger)
            }
        }
    }

    /// What runs where, without changing anything.
    package func status() throws -> ClusterStatus {
        let state = try ClusterStateFile(directory: self.configuration.directory).load()
        return self.status(from: state)
    }

    // MARK: - Blocking work, off the concurrency pool

    func upBlocking() throws -> ClusterStatus {
        let stateFile = ClusterStateFile(directory: self.configuration.directory)
        try FileManager.default.createDirectory(atPath: self.configuration.directory, withIntermediateDirectories: true)
        var state = try stateFile.load()
        if self.configuration.postgreSQL, self.configuration.ha {
            try self.upHA(state: &state, stateFile: stateFile)
        } else if self.configuration.postgreSQL {
            try self.upPostgreSQL(state: &state, stateFile: stateFile)
        }
        if self.configuration.postgreSQL, !self.configuration.ha, let pooler = self.configuration.pooler {
            try self.upPooler(pooler, state: &state, stateFile: stateFile)
        }
        if self.configuration.redis != .off {
            try self.upRedis(state: &state, stateFile: stateFile)
        }
        if let monitoring = self.configuration.monitoring {
            try self.upMonitoring(monitoring, state: &state, stateFile: stateFile)
        }
        return self.status(from: state)
    }

    private func upPostgreSQL(state: inout ClusterStateFile.State, stateFile: ClusterStateFile) throws {
        let installation = try PostgresInstallation.locate(override: self.configuration.binDirectory)
        let runAs = try OSUser.forPostgres()
        if state.dataRoot == nil {
            state.dataRoot = self.chooseDataRoot(runAs: runAs)
        }
        if state.password == nil {
            state.password = RandomPassword.make()
        }
        if state.appPassword == nil {
            state.appPassword = RandomPassword.make()
        }
        try stateFile.save(state)  // before initdb uses the password, so a later `up` knows it
        let backRest = self.backRest(dataRoot: state.dataRoot!, runAs: runAs)
        var server = PostgresServer(
            name: "primary",
            dataDirectory: state.dataRoot! + "/primary",
            installation: installation,
            runAs: runAs,
            superuser: self.configuration.superuser,
            password: state.password!,
            settings: self.configuration.profile == .tuned ? PostgresSettings.tuned : PostgresSettings.test,
            logger: self.logger
        )
        server.databaseName = self.configuration.databaseName
        if let backRest, let backups = self.configuration.backups {
            server.extraSettings = backRest.archiveSettings(backups)
        }
        let previousPort = state.components["primary"]?.port
        let port = try server.start(preferredPort: previousPort)
        try server.createDatabase(self.configuration.databaseName, port: port)
        if installation.hasLibrary("pg_stat_statements") {
            // What ops/monitoring.sql's slow_queries reads (superuser only: not a trusted extension).
            try server.superuserSQL(port: port, database: self.configuration.databaseName, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        }
        try server.ensureRoles(port: port, appPassword: state.appPassword!)
        // pg_cron needs its library loaded at start (a cluster made before it was installed
        // restarts once), then pg_partman and pg_cron's job (README: Data lifecycle and backups).
        try server.restartIfSettingsNeedIt(port: port)
        try server.installMaintenanceExtensions(port: port, database: self.configuration.databaseName)
        // The key vault of crypto-shredding, owned by the server's role (README: Security).
        try server.createDatabase(Self.keyDatabaseName, port: port)
        try server.superuserSQL(port: port, "ALTER DATABASE \(Self.keyDatabaseName) OWNER TO tessera_app")
        state.components["primary"] = .init(kind: "postgresql", role: "primary", port: port, dataDirectory: server.dataDirectory, logFile: server.logFile)
        try stateFile.save(state)
        var slots = [String]()
        for index in stride(from: 1, through: self.configuration.replicas, by: 1) {
            var replica = server
            replica.name = "replica-\(index)"
            replica.role = .replica(primaryPort: port)
            replica.dataDirectory = state.dataRoot! + "/" + replica.name
            slots.append(replica.slotName)
            let replicaPort = try replica.start(preferredPort: state.components[replica.name]?.port)
            state.components[replica.name] = .init(
                kind: "postgresql",
                role: "replica",
                port: replicaPort,
                dataDirectory: replica.dataDirectory,
                logFile: replica.logFile
            )
            try stateFile.save(state)
        }
        try server.dropReplicationSlots(port: port, keeping: slots)
        if let backRest, let backups = self.configuration.backups {
            self.startArchiving(backRest, settings: backups, server: server, port: port, password: state.password!)
        }
    }

    /// Redis in `<dir>/redis`, with a password of its own kept in the state file.
    private func upRedis(state: inout ClusterStateFile.State, stateFile: ClusterStateFile) throws {
        guard let executable = RedisServer.locate() else {
            if self.configuration.redis == .required { throw LocalClusterError.redisNotInstalled }
            self.logger.notice("redis-server is not installed; the local cluster runs without Redis (apt-get install redis-server)")
            return
        }
        if state.redisPassword == nil {
            state.redisPassword = RandomPassword.make()
            try stateFile.save(state)
        }
        let server = RedisServer(
            directory: self.configuration.directory + "/redis",
            executable: executable,
            password: state.redisPassword!,
            settings: self.configuration.profile == .tuned ? RedisSettings.tuned : RedisSettings.test,
            logger: self.logger
        )
        let port = try server.start(preferredPort: state.components[server.name]?.port)
        state.components[server.name] = .init(kind: "redis", role: "cache", port: port, dataDirectory: server.directory, logFile: server.logFile)
        try stateFile.save(state)
    }

    /// pgbouncer in front of the primary, in the PostgreSQL data root (it runs as that user).
    private func upPooler(_ settings: PoolerSettings, state: inout ClusterStateFile.State, stateFile: ClusterStateFile) throws {
        guard let executable = PgBouncerServer.locate() else {
            self.logger.notice("pgbouncer is not installed; the local cluster runs without a pooler (apt-get install pgbouncer)")
            return
        }
        guard let primary = state.components["primary"], let password = state.password, let appPassword = state.appPassword else { return }
        let server = PgBouncerServer(
            directory: state.dataRoot! + "/pgbouncer",
            executable: executable,
            primaryPort: primary.port,
            users: [self.configuration.superuser: password, "tessera_app": appPassword],
            settings: settings,
            runAs: try OSUser.forPostgres(),
            logger: self.logger
        )
        // An extra, not the database: a pooler that does not start leaves the cluster up.
        do {
            let port = try server.start(preferredPort: state.components[server.name]?.port)
            state.components[server.name] = .init(kind: "pgbouncer", role: "pooler", port: port, dataDirectory: server.directory, logFile: server.logFile)
            try stateFile.save(state)
        } catch {
            self.logger.error("pgbouncer did not start; the cluster runs without a pooler", metadata: ["error": "\(error)"])
        }
    }

    /// Prometheus and the exporters, in `<dir>/monitoring`.
    private func upMonitoring(_ settings: MonitoringSettings, state: inout ClusterStateFile.State, stateFile: ClusterStateFile) throws {
        let stack = MonitoringStack(settings: settings, directory: self.configuration.directory + "/monitoring", logger: self.logger)
        let current = self.status(from: state)
        let targets = MonitoringStack.Targets(
            postgresURL: current.primary?.url,
            redisPort: state.components["redis"]?.port,
            redisPassword: state.redisPassword
        )
        let known = state.components.filter { MonitoringStack.components.contains($0.key) }.mapValues(\.port)
        for (name, port) in try stack.up(targets: targets, ports: known) {
            state.components[name] = .init(
                kind: name == "prometheus" ? "prometheus" : "exporter",
                role: "monitoring",
                port: port,
                dataDirectory: stack.directory + "/" + name,
                logFile: stack.directory + "/" + name + ".log"
            )
        }
        try stateFile.save(state)
    }

    func downBlocking() throws -> ClusterStatus {
        let stateFile = ClusterStateFile(directory: self.configuration.directory)
        let state = try stateFile.load()
        // Replicas first, so the primary does not wait on their connections; Patroni's leader
        // after its replicas (none fails over to them), etcd last.
        let leader = Self.patroniCluster(state)?.leader?.name
        func rank(_ name: String, _ component: ClusterStateFile.Component) -> Int {
            switch component.kind {
            case "patroni": name == leader ? 1 : 0
            case "etcd": 2
            default: component.role == "replica" ? 0 : 1
            }
        }
        for (name, component) in state.components.sorted(by: { rank($0.key, $0.value) < rank($1.key, $1.value) }) {
            try Self.stop(name: name, component: component, logger: self.logger)
        }
        return self.status(from: state)
    }

    private static func stop(name: String, component: ClusterStateFile.Component, logger: Logger) throws {
        switch component.kind {
        case "postgresql": try PostgresServer.stop(dataDirectory: component.dataDirectory, name: name, logger: logger)
        case "redis": try RedisServer.stop(directory: component.dataDirectory, name: name, logger: logger)
        case "prometheus", "exporter": MonitoringStack.stop(name: name, directory: component.dataDirectory, logger: logger)
        case "pgbouncer": PgBouncerServer.stop(directory: component.dataDirectory, name: name, logger: logger)
        case "patroni": try PatroniNode.stop(directory: (component.dataDirectory as NSString).deletingLastPathComponent, name: name, logger: logger)
        case "etcd": MonitoredProcess.stop(directory: component.dataDirectory, name: name, logger: logger)
        default: break
        }
    }

    /// `<dir>/pg` when the PostgreSQL user can reach it, else a folder under /tmp.
    func chooseDataRoot(runAs: OSUser?) -> String {
        let inside = self.configuration.directory + "/pg"
        guard let runAs else { return inside }
        chmod(self.configuration.directory, 0o755)
        if runAs.canReach(self.configuration.directory) { return inside }
        let fallback = "/tmp/tessera-pg-" + String(UInt64(bitPattern: Int64(self.configuration.directory.hashValueStable)), radix: 36)
        self.logger.notice(
            "The postgres user cannot reach the cluster directory; keeping PostgreSQL data elsewhere",
            metadata: ["cluster.dir": "\(self.configuration.directory)", "data.dir": "\(fallback)"]
        )
        return fallback
    }

    func status(from state: ClusterStateFile.State) -> ClusterStatus {
        let patroni = Self.patroniCluster(state)
        let components = state.components.sorted { $0.key < $1.key }.map { name, component in
            let pid: Int32?
            let url: String
            var appURL: String?
            var role = component.role
            var member: PatroniREST.Member?
            switch component.kind {
            case "etcd":
                pid = MonitoredProcess.runningPID(directory: component.dataDirectory)
                url = "http://127.0.0.1:\(component.port)"
            case "patroni":
                pid = PostgresServer.runningPID(dataDirectory: component.dataDirectory)
                let address = "127.0.0.1:\(component.port)/\(self.configuration.databaseName)?sslmode=disable"
                url = "postgres://\(self.configuration.superuser):\(state.password ?? "")@" + address
                appURL = state.appPassword.map { "postgres://tessera_app:\($0)@" + address }
                member = patroni?.members.first { $0.name == name }
                role = member?.role == "leader" ? "primary" : "replica"
            case "redis":
                pid = RedisServer.runningPID(directory: component.dataDirectory)
                url = RedisURL(host: "127.0.0.1", port: component.port, password: state.redisPassword).urlString
            case "pgbouncer":
                pid = PgBouncerServer.runningPID(directory: component.dataDirectory)
                let address = "127.0.0.1:\(component.port)/\(self.configuration.databaseName)?sslmode=disable"
                url = "postgres://\(self.configuration.superuser):\(state.password ?? "")@" + address
                appURL = state.appPassword.map { "postgres://tessera_app:\($0)@" + address }
            case "prometheus", "exporter":
                pid = MonitoredProcess.runningPID(directory: component.dataDirectory)
                url = "http://127.0.0.1:\(component.port)" + (component.kind == "exporter" ? "/metrics" : "")
            default:
                pid = PostgresServer.runningPID(dataDirectory: component.dataDirectory)
                let address = "127.0.0.1:\(component.port)/\(self.configuration.databaseName)?sslmode=disable"
                url = "postgres://\(self.configuration.superuser):\(state.password ?? "")@" + address
                appURL = state.appPassword.map { "postgres://tessera_app:\($0)@" + address }
            }
            return ClusterStatus.Component(
                name: name,
                kind: component.kind,
                role: role,
                host: "127.0.0.1",
                port: component.port,
                url: url,
                appURL: appURL,
                pid: pid,
                running: pid != nil,
                dataDirectory: component.dataDirectory,
                logFile: component.logFile,
                patroniRole: member?.role ?? (component.kind == "patroni" ? "unknown" : nil),
                timeline: member?.timeline,
                patroniURL: component.restPort.map { "http://127.0.0.1:\($0)" }.flatMap { component.kind == "patroni" ? $0 : nil }
            )
        }
        return ClusterStatus(directory: self.configuration.directory, components: components)
    }
}

extension String {
    /// FNV-1a: stable across runs, unlike `hashValue`.
    var hashValueStable: Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in self.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return Int64(bitPattern: hash)
    }
}

enum RandomPassword {
    static func make() -> String {
        let alphabet = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<32).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }
}

extension LocalCluster {
    /// Stops a cluster synchronously, from a context that cannot await (an exit handler).
    package static func stopNow(directory: String) {
        let cluster = LocalCluster(
            configuration: .init(directory: directory),
            logger: Logger(label: "tessera.local.exit", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        _ = try? cluster.downBlocking()
    }
}
