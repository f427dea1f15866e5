import ArgumentParser
import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOPosix
import PostgresNIO
import Prometheus
import ServiceLifecycle
import TesseraCache
import TesseraCore
import TesseraLocal
import TesseraRouting
import TesseraServer
import TesseraStore

/// What the read benchmarks run against, started by them: their own local cluster
/// (a primary, streaming replicas, Redis), migrated, and two Tessera servers in this
/// process on 127.0.0.1 — `base` without a cache and `cachedBase` (the next port)
/// with the Redis read cache — plus an HTTP client to drive them.
struct BenchEnvironment {
    var directory: String
    /// The primary as its superuser: the benchmark's dataset and checks.
    var primary: DatabaseURL
    /// The primary as `tessera_app`, the role the servers connect as.
    var appPrimary: DatabaseURL
    /// The primary as `tessera_app` through the cluster's pgbouncer, when it runs one.
    var pooledAppPrimary: DatabaseURL?
    var replicas: [DatabaseURL]
    var redisURL: String?
    var dependencies: ServerDependencies
    var http: HTTPClient
    /// The HTTP client's own event loops.
    var clientLoops: MultiThreadedEventLoopGroup
    var base: String
    /// nil when the cluster has no Redis (redis-server not installed).
    var cachedBase: String?
    private var cluster: LocalCluster
    private var group: ServiceGroup
    private var server: Task<Void, any Error>

    static func start(
        directory: String,
        replicas: Int,
        port: Int,
        smoke: Bool,
        entityTTL: Int = 300,
        slidingEntityTTL: Bool = true,
        preparedStatements: Bool = true,
        handlersOnEventLoop: Bool = true,
        backups: BackupSettings? = nil,
        flushSessions: Int = IngestPipeline.Configuration().flushSessions,
        logger: Logger
    ) async throws -> BenchEnvironment {
        let cluster = LocalCluster(
            configuration: .init(directory: directory, profile: smoke ? .test : .tuned, replicas: replicas, pooler: PoolerSettings(), backups: backups),
            logger: logger
        )
        let status = try await cluster.up()
        do {
            return try await Self.start(
                on: cluster,
                status: status,
                port: port,
                entityTTL: entityTTL,
                slidingEntityTTL: slidingEntityTTL,
                preparedStatements: preparedStatements,
                handlersOnEventLoop: handlersOnEventLoop,
                flushSessions: flushSessions,
                directory: directory,
                logger: logger
            )
        } catch {
            // A dataset migrated by another build, say: the processes started above stop here.
            _ = try? await cluster.down()
            throw error
        }
    }

    private static func start(
        on cluster: LocalCluster,
        status: ClusterStatus,
        port: Int,
        entityTTL: Int,
        slidingEntityTTL: Bool,
        preparedStatements: Bool,
        handlersOnEventLoop: Bool,
        flushSessions: Int,
        directory: String,
        logger: Logger
    ) async throws -> BenchEnvironment {
        let url = try DatabaseURL.parsed(status.primary!.url)
        let replicaURLs = try status.components.filter { $0.role == "replica" }.sorted { $0.name < $1.name }.map { try DatabaseURL.parsed($0.url) }
        _ = try await withPostgresClient(url: url, logger: logger) { try await Migrator(client: $0, logger: logger).migrate() }
        // The servers connect as tessera_app, under row-level security, as `tessera serve` does;
        // the benchmark's own checks and dataset use the superuser's URLs above.
        let appURL = try DatabaseURL.parsed(status.primary!.appURL ?? status.primary!.url)
        let appReplicaURLs = try status.components.filter { $0.role == "replica" }.sorted { $0.name < $1.name }
            .map { try DatabaseURL.parsed($0.appURL ?? $0.url) }

        let dependencies = try ServerDependencies(
            primaryURL: appURL,
            poolSize: 8,
            ingest: .init(flushSessions: flushSessions),
            readTopology: .init(replicas: appReplicaURLs, poolSize: 8, preparedStatements: preparedStatements),
            metrics: PrometheusCollectorRegistry(),
            logger: logger
        )
        var services: [any Service] = [
            buildApplication(
                configuration: .init(host: "127.0.0.1", port: port, adminToken: RandomToken.base62(length: 32), handlersOnEventLoop: handlersOnEventLoop),
                dependencies: dependencies,
                logger: logger
            )
        ]
        // A second server on the next port, the same but with the Redis read cache.
        let redis = status.components.first { $0.kind == "redis" && $0.running }
        if let redis {
            let cached = try ServerDependencies(
                primaryURL: appURL,
                poolSize: 8,
                ingest: .init(flushSessions: flushSessions),
                readTopology: .init(replicas: appReplicaURLs, poolSize: 8, preparedStatements: preparedStatements),
                cache: .init(
                    redis: .init(url: try RedisURL(parsing: redis.url), connections: 4, commandTimeout: .milliseconds(200)),
                    cache: .init(entityTTL: .seconds(entityTTL), slidingEntityTTL: slidingEntityTTL)
                ),
                metrics: PrometheusCollectorRegistry(),
                logger: logger
            )
            services.append(
                buildApplication(
                    configuration: .init(
                        host: "127.0.0.1",
                        port: port + 1,
                        adminToken: RandomToken.base62(length: 32),
                        handlersOnEventLoop: handlersOnEventLoop
                    ),
                    dependencies: cached,
                    logger: logger
                )
            )
        }
        let group = ServiceGroup(configuration: .init(services: services, logger: logger))
        let server = Task { try await group.run() }
        // The clients get event loops of their own, as they would in another process:
        // on the servers' loops they would queue behind the servers' I/O and handlers.
        let clientLoops = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let http = HTTPClient(eventLoopGroup: clientLoops, configuration: .init(timeout: .init(connect: .seconds(5), read: .seconds(120))))
        let environment = BenchEnvironment(
            directory: directory,
            primary: url,
            appPrimary: appURL,
            pooledAppPrimary: try status.components.first { $0.kind == "pgbouncer" && $0.running }?.appURL.map(DatabaseURL.parsed),
            replicas: replicaURLs,
            redisURL: redis?.url,
            dependencies: dependencies,
            http: http,
            clientLoops: clientLoops,
            base: "http://127.0.0.1:\(port)",
            cachedBase: redis == nil ? nil : "http://127.0.0.1:\(port + 1)",
            cluster: cluster,
            group: group,
            server: server
        )
        do {
            try await IngestBenchCommand.waitUntilServing(http, environment.base)
            if let cachedBase = environment.cachedBase { try await IngestBenchCommand.waitUntilServing(http, cachedBase) }
        } catch {
            await environment.stopServers()
            throw error
        }
        return environment
    }

    /// Stops the servers, the HTTP client and the cluster's processes (its data stays
    /// in the folder for the next run, which starts them again).
    func stop() async {
        await self.stopServers()
        _ = try? await self.cluster.down()
    }

    /// Stops the HTTP client and the servers, not the cluster.
    private func stopServers() async {
        try? await self.http.shutdown()
        try? await self.clientLoops.shutdownGracefully()
        await self.group.triggerGracefulShutdown()
        _ = try? await self.server.value
    }

    /// The dataset's tenant keys: generated once and kept in the bench folder.
    func dataset(_ dataset: ReadBenchDataset, logger: Logger) async throws -> [String] {
        let keysFile = URL(fileURLWithPath: self.directory).appendingPathComponent("\(dataset.name)-keys.json")
        if let data = try? Data(contentsOf: keysFile), let keys = try? JSONDecoder().decode([String].self, from: data),
            try await self.dependencies.catalog.tenant(forKey: APIKey(value: keys[0])) != nil
        {
            print("Reusing the dataset \(dataset.name) in \(self.directory).")
            return keys
        }
        print("Generating \(dataset.shape.entities) entities and \(dataset.shape.values) values...")
        let keys = try await withPostgresClient(url: self.primary, logger: logger) { client in
            try await dataset.generate(catalog: self.dependencies.catalog, client: client, logger: logger)
        }
        // Settled, as autovacuum leaves a database between bursts: visibility maps set (the
        // filter's index-only scans), statistics current. Only once the replicas have
        // replayed the load: until then their feedback holds back the horizon, VACUUM marks
        // no page all-visible, and every index-only scan reads the heap (filter p95 1.4 s
        // instead of ~25 ms on 1M entities).
        try await self.waitForReplicas()
        let started = ContinuousClock.now
        try await withPostgresClient(url: self.primary, logger: logger) { client in
            try await client.query("VACUUM ANALYZE", logger: logger)
        }
        print("  vacuumed and analyzed in \(Int((ContinuousClock.now - started).benchSeconds)) s")
        try JSONEncoder().encode(keys).write(to: keysFile)
        return keys
    }

    /// Waits until the flush has moved every acknowledged point (at most 5 minutes),
    /// before anyone counts; returns the seconds from `since` (default: now) until then.
    @discardableResult
    func waitUntilFlushed(since start: ContinuousClock.Instant = .now) async throws -> Double {
        try await Self.waitUntilFlushed(self.dependencies, since: start)
    }

    @discardableResult
    static func waitUntilFlushed(_ dependencies: ServerDependencies, since start: ContinuousClock.Instant = .now) async throws -> Double {
        let deadline = ContinuousClock.now + .seconds(300)
        while dependencies.ingest.pipeline.unflushedPoints > 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let waited = ContinuousClock.now - start
        return waited.benchSeconds
    }

    /// Waits until every replica has replayed the dataset (lag under 100 ms).
    func waitForReplicas() async throws {
        let deadline = ContinuousClock.now + .seconds(1800)
        while ContinuousClock.now < deadline {
            let views = self.dependencies.reads.router.views().filter { $0.role == .replica }
            if views.allSatisfy({ ($0.lagMilliseconds ?? .infinity) < 100 }) { return }
            try await Task.sleep(for: .seconds(1))
        }
        throw ValidationErrorText("the replicas did not catch up within 30 minutes")
    }
}
