import Foundation
import TesseraCore
import TesseraLocal

/// The Redis the cache's integration tests run against: real `redis-server`s started
/// through `TesseraLocal` as Redis-only local clusters (no PostgreSQL), each in its
/// own temporary directory, and stopped (by pid) when the test process exits.
package enum TestRedis {
    /// The shared Redis of this test process, started on first use. Tests on it
    /// isolate themselves by key prefix; none may stop it.
    package static func url() async throws -> RedisURL {
        try await state.url()
    }

    /// A Redis of the test's own, for tests that stop and restart it
    /// (`cluster.stop(component: "redis")`, `cluster.up()`); stopped after `body`.
    package static func withPrivateRedis<T: Sendable>(
        _ body: @Sendable (_ cluster: LocalCluster, _ url: RedisURL) async throws -> T
    ) async throws -> T {
        let (cluster, url) = try await self.start(name: "redis-" + UUID().uuidString.prefix(8).lowercased())
        do {
            let result = try await body(cluster, url)
            _ = try? await cluster.down()
            self.forget(cluster.configuration.directory)
            return result
        } catch {
            _ = try? await cluster.down()
            self.forget(cluster.configuration.directory)
            throw error
        }
    }

    private static let state = State()

    private actor State {
        private var task: Task<RedisURL, any Error>?

        func url() async throws -> RedisURL {
            if let task { return try await task.value }
            let task = Task { try await TestRedis.start(name: "redis").1 }
            self.task = task
            return try await task.value
        }
    }

    private static func start(name: String) async throws -> (LocalCluster, RedisURL) {
        TestCluster.removeStaleClusters()
        let directory = NSTemporaryDirectory() + "tessera-tests-\(getpid())-\(name)"
        let first = redisDirectories.withLock { directories in
            directories.append(directory)
            return directories.count == 1
        }
        if first {
            atexit {
                for directory in redisDirectories.withLock({ $0 }) {
                    LocalCluster.stopNow(directory: directory)
                    try? FileManager.default.removeItem(atPath: directory)
                }
            }
        }
        let cluster = LocalCluster(
            configuration: .init(directory: directory, profile: .test, postgreSQL: false, redis: .required),
            logger: quietLogger
        )
        let status = try await cluster.up()
        guard let redis = status.components.first(where: { $0.kind == "redis" }) else {
            throw TesseraError(.internalError, "The test cluster in \(directory) started no Redis.")
        }
        return (cluster, try RedisURL(parsing: redis.url))
    }

    private static func forget(_ directory: String) {
        try? FileManager.default.removeItem(atPath: directory)
        redisDirectories.withLock { $0.removeAll { $0 == directory } }
    }
}

/// Directories of the Redis clusters this process started, for the exit handler.
private let redisDirectories = LockedValue<[String]>([])
