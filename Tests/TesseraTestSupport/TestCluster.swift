import Foundation
import Logging
import PostgresNIO
import TesseraCore
import TesseraLocal
import TesseraStore

#if canImport(Glibc)
import Glibc
#endif

/// The PostgreSQL the integration tests run against: a real local cluster, started
/// once per test process through `TesseraLocal` in a temporary directory, migrated,
/// and stopped (by pid) when the process exits.
package enum TestCluster {
    /// The migrated `tessera` database of the shared cluster.
    package static func primaryURL() async throws -> DatabaseURL {
        try await state.url()
    }

    /// The shared cluster's pgbouncer (transaction pooling, as `tessera serve` connects by
    /// default), as the server's role sees it.
    package static func poolerURL() async throws -> DatabaseURL {
        _ = try await self.primaryURL()
        guard let url = poolerAppURL.withLock({ $0 }) else {
            throw LocalClusterError.commandFailed("The test cluster runs no pgbouncer: is it installed (make deps)?")
        }
        return url
    }

    /// A new, empty database on the shared cluster (for migration tests).
    package static func freshDatabase() async throws -> DatabaseURL {
        let url = try await self.primaryURL()
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        try await withTestClient(url: url) { client in
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
        }
        var fresh = url
        fresh.database = String(name)
        return fresh
    }

    /// The shared cluster's primary's log (what pgaudit writes to).
    package static func serverLog() throws -> String {
        guard let path = primaryLogFile.withLock({ $0 }) else { return "" }
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    private static let state = State()

    private actor State {
        private var task: Task<DatabaseURL, any Error>?

        func url() async throws -> DatabaseURL {
            if let task { return try await task.value }
            let task = Task { try await TestCluster.start() }
            self.task = task
            return try await task.value
        }
    }

    private static func start() async throws -> DatabaseURL {
        self.removeStaleClusters()
        let directory = NSTemporaryDirectory() + "tessera-tests-\(getpid())"
        let cluster = LocalCluster(configuration: .init(directory: directory, profile: .test, pooler: PoolerSettings()), logger: quietLogger)
        exitDirectory.withLock { $0 = directory }
        atexit {
            guard let directory = exitDirectory.withLock({ $0 }) else { return }
            LocalCluster.stopNow(directory: directory)
            try? FileManager.default.removeItem(atPath: directory)
        }
        let status = try await cluster.up()
        ServerRole.register(status)
        primaryLogFile.withLock { $0 = status.primary?.logFile }
        if let pooler = status.components.first(where: { $0.kind == "pgbouncer" && $0.running }), let appURL = pooler.appURL {
            var url = try DatabaseURL(parsing: appURL)
            url.pooling = .transaction
            poolerAppURL.withLock { $0 = url }
        }
        let url = try DatabaseURL(parsing: status.primary!.url)
        try await withTestClient(url: url) { client in
            _ = try await Migrator(client: client, logger: quietLogger).migrate()
        }
        return url
    }

    /// Clusters left by test processes that died without their exit handler.
    static func removeStaleClusters() {
        let temporary = NSTemporaryDirectory()
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? []
        for entry in entries where entry.hasPrefix("tessera-tests-") {
            guard let pid = Int32(entry.dropFirst("tessera-tests-".count).prefix(while: \.isNumber)), kill(pid, 0) != 0, errno == ESRCH else { continue }
            LocalCluster.stopNow(directory: temporary + entry)
            try? FileManager.default.removeItem(atPath: temporary + entry)
        }
    }
}

private let exitDirectory = LockedValue<String?>(nil)
private let primaryLogFile = LockedValue<String?>(nil)
private let poolerAppURL = LockedValue<DatabaseURL?>(nil)

/// A logger that stays silent: tests assert on values, not log lines.
/// Silent, unless `TESSERA_TEST_LOG` names a level (`trace` … `critical`): then the
/// servers and clusters the tests start log to stderr from that level, to see what a
/// failing test's server did.
package let quietLogger: Logger = {
    guard let name = ProcessInfo.processInfo.environment["TESSERA_TEST_LOG"], let level = Logger.Level(rawValue: name) else {
        return Logger(label: "tessera.tests", factory: { _ in SwiftLogNoOpLogHandler() })
    }
    var logger = Logger(label: "tessera.tests", factory: { label in StreamLogHandler.standardError(label: label) })
    logger.logLevel = level
    return logger
}()

/// Runs `body` with a running pool on `url`; fails after two minutes, or `within` (a pool
/// whose server is gone waits for it forever).
package func withTestClient<T: Sendable>(
    url: DatabaseURL,
    within: Duration = .seconds(120),
    _ body: @escaping @Sendable (PostgresClient) async throws -> T
) async throws -> T {
    try await Deadline.run(within: within, "a test's queries on \(url.host):\(url.port)") {
        try await PostgresClient.withRunning(url: url, logger: quietLogger, body)
    }
}

/// A value behind a lock, readable from an exit handler.
final class LockedValue<Value>: @unchecked Sendable {
    // @unchecked: every access goes through `lock`.
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) -> T) -> T {
        self.lock.lock()
        defer { self.lock.unlock() }
        return body(&self.value)
    }
}

/// A second local cluster with a primary and two streaming replicas, for the
/// routing tests: started once per test process on first use, migrated, and
/// stopped by pid when the process exits. Tests that pause or stop its replicas
/// must be serialised.
package enum ReplicatedTestCluster {
    package struct Topology: Sendable {
        package var cluster: LocalCluster
        package var primary: DatabaseURL
        /// `replica-1`, `replica-2`, in order.
        package var replicas: [DatabaseURL]
    }

    package static func topology() async throws -> Topology {
        try await state.topology()
    }

    private static let state = State()

    private actor State {
        private var task: Task<Topology, any Error>?

        func topology() async throws -> Topology {
            if let task { return try await task.value }
            let task = Task { try await ReplicatedTestCluster.start() }
            self.task = task
            return try await task.value
        }
    }

    private static func start() async throws -> Topology {
        let directory = NSTemporaryDirectory() + "tessera-tests-\(getpid())-replicated"
        replicatedExitDirectory.withLock { $0 = directory }
        atexit {
            guard let directory = replicatedExitDirectory.withLock({ $0 }) else { return }
            LocalCluster.stopNow(directory: directory)
            try? FileManager.default.removeItem(atPath: directory)
        }
        let cluster = LocalCluster(configuration: .init(directory: directory, profile: .test, replicas: 2), logger: quietLogger)
        let status = try await cluster.up()
        ServerRole.register(status)
        let primary = try DatabaseURL(parsing: status.primary!.url)
        let replicas = try status.components.filter { $0.role == "replica" }.sorted { $0.name < $1.name }.map { try DatabaseURL(parsing: $0.url) }
        try await withTestClient(url: primary) { client in
            _ = try await Migrator(client: client, logger: quietLogger).migrate()
        }
        return Topology(cluster: cluster, primary: primary, replicas: replicas)
    }
}

private let replicatedExitDirectory = LockedValue<String?>(nil)
