import ArgumentParser
import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import PostgresNIO
import Prometheus
import ServiceLifecycle
import TesseraCache
import TesseraCore
import TesseraLocal
import TesseraRouting
import TesseraServer
import TesseraStore

/// `tessera bench read`: the read path over HTTP on a primary with streaming
/// replicas — entity lookup, multi-attribute filter, a 7-day series, an hourly
/// aggregate over 1M rows — then replica lag while ingest runs.
struct ReadBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "read", abstract: "Read latencies by consistency over HTTP, and replica lag under ingest.")

    @Option(help: "Folder of the benchmark's own local cluster (the dataset is kept there and reused).") var dir = ".tessera-bench-read"
    @Option(help: "Entities in the dataset.") var entities = 1_000_000
    @Option(help: "Values in the dataset.") var values = 20_000_000
    @Option(help: "Streaming replicas.") var replicas = 2
    @Option(help: "Seconds per measured operation.") var seconds = 10
    @Option(help: "Concurrent HTTP clients per operation.") var clients = 4
    @Option(help: "Port of the benchmark's server on 127.0.0.1.") var port = 18182
    @Flag(help: "A few seconds on a small dataset, for CI: checks it works, measures nothing.") var smoke = false
    @Flag(help: "Only entity lookups with Zipf(1.1) key popularity, through a server with the Redis cache and one without.") var zipf = false
    @Option(help: "With --zipf: seconds of unmeasured lookups first, so the cache reaches its steady state.") var warmup = 60
    @Option(help: "With --zipf: seconds a cached entity lookup lives (the server's TESSERA_CACHE_ENTITY_TTL_S).") var entityTTL = 300

    func run() async throws {
        let logger = {
            var logger = Logger(label: "tessera.bench")
            logger.logLevel = .warning
            return logger
        }()
        var shape = ReadBenchDataset.Shape(entities: self.entities, values: self.values)
        let seconds = self.smoke ? 1 : self.seconds
        let clients = self.smoke ? 2 : self.clients
        if self.smoke { shape = .init(entities: 10_000, values: 200_000, aggregateRows: 20_000) }
        let dataset = ReadBenchDataset(shape: shape)

        let cluster = LocalCluster(
            configuration: .init(directory: self.dir, profile: self.smoke ? .test : .tuned, replicas: self.replicas),
            logger: logger
        )
        let status = try await cluster.up()
        let url = try DatabaseURL.parsed(status.primary!.url)
        let replicaURLs = try status.components.filter { $0.role == "replica" }.sorted { $0.name < $1.name }.map { try DatabaseURL.parsed($0.url) }
        _ = try await withPostgresClient(url: url, logger: logger) { try await Migrator(client: $0, logger: logger).migrate() }

        let dependencies = try ServerDependencies(
            primaryURL: url,
            poolSize: 8,
            readTopology: .init(replicas: replicaURLs, poolSize: 8),
            metrics: PrometheusCollectorRegistry(),
            logger: logger
        )
        let app = buildApplication(
            configuration: .init(host: "127.0.0.1", port: self.port, adminToken: RandomToken.base62(length: 32)),
            dependencies: dependencies,
            logger: logger
        )
        // A second server on the next port, the same but with the Redis read cache.
        var services: [any Service] = [app]
        var cachedDependencies: ServerDependencies?
        if let redis = status.components.first(where: { $0.kind == "redis" && $0.running }) {
            let cached = try ServerDependencies(
                primaryURL: url,
                poolSize: 8,
                readTopology: .init(replicas: replicaURLs, poolSize: 8),
                cache: .init(
                    redis: .init(url: try RedisURL(parsing: redis.url), connections: 4, commandTimeout: .milliseconds(200)),
                    cache: .init(entityTTL: .seconds(self.entityTTL))
                ),
                metrics: PrometheusCollectorRegistry(),
                logger: logger
            )
            services.append(buildApplication(
                configuration: .init(host: "127.0.0.1", port: self.port + 1, adminToken: RandomToken.base62(length: 32)),
                dependencies: cached,
                logger: logger
            ))
            cachedDependencies = cached
        }
        let group = ServiceGroup(configuration: .init(services: services, logger: logger))
        let server = Task { try await group.run() }
        defer { server.cancel() }
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(timeout: .init(connect: .seconds(5), read: .seconds(120))))
        do {
            let base = "http://127.0.0.1:\(self.port)"
            try await IngestBenchCommand.waitUntilServing(http, base)
            let keys = try await self.dataset(dataset, dependencies: dependencies, url: url, logger: logger)
            print("Waiting for the replicas to replay the dataset...")
            try await Self.waitForReplicas(dependencies.reads.router, primary: url, logger: logger)

            let runner = ReadBenchRunner(http: http, base: base, keys: keys, dataset: dataset, clients: clients, seconds: seconds)
            var results = [ReadBenchRunner.Result]()
            if self.zipf || self.smoke {
                print("Zipf(1.1) lookups over \(shape.entities) entities, without and with the cache...")
                let sampler = ZipfSampler(n: dataset.layout.entityCounts.reduce(0, +), s: 1.1)
                let lookup: @Sendable (inout SplitMix64) -> ReadBenchRunner.Request = { random in
                    let (tenant, entity) = dataset.layout.entity(atRank: sampler.next(&random))
                    return (.GET, "/v1/entities/dev-\(entity)", nil, tenant)
                }
                let warmup: Duration = self.smoke ? .milliseconds(300) : .seconds(self.warmup)
                results.append(try await runner.measure("zipf lookup, cache off", warmup: warmup, lookup))
                if cachedDependencies != nil {
                    let cachedBase = "http://127.0.0.1:\(self.port + 1)"
                    try await IngestBenchCommand.waitUntilServing(http, cachedBase)
                    let cachedRunner = ReadBenchRunner(http: http, base: cachedBase, keys: keys, dataset: dataset, clients: clients, seconds: seconds)
                    let cached = try await cachedRunner.measure("zipf lookup, cache on", warmup: warmup, lookup)
                    results.append(cached)
                    let hits = cached.sources["cache", default: 0]
                    print("    cache hit rate: \(String(format: "%.1f", 100 * Double(hits) / Double(max(1, cached.total.count))))% of \(cached.total.count) lookups")
                    let rate = Double(cached.total.count) / Double(seconds)
                    let ideal = sampler.idealHitRate(lookupsPerSecond: rate, ttlSeconds: Double(self.entityTTL))
                    print("    a perfect cache with the same \(self.entityTTL) s entity TTL at \(Int(rate)) lookups/s would hit \(String(format: "%.1f", 100 * ideal))%")
                    if let served = cached.bySource["cache"] {
                        print("    answered from the cache: p50 \(IngestBenchCommand.ms(served.p50)) ms, p95 \(IngestBenchCommand.ms(served.p95)) ms, p99 \(IngestBenchCommand.ms(served.p99)) ms")
                    }
                } else {
                    print("    (no Redis in the cluster: install redis-server for the cached run)")
                }
            }
            if self.zipf {
                print("")
                print("operation | requests | p50 ms | p95 ms | p99 ms | db p50 ms | db p95 ms | served by")
                for result in results { print(result.line) }
                try await http.shutdown()
                await group.triggerGracefulShutdown()
                try await server.value
                return
            }
            results.append(try await runner.measure("entity lookup (eventual)") { random in
                let tenant = dataset.layout.pickTenant(&random)
                let entity = random.next() % UInt64(dataset.layout.entityCounts[tenant])
                return (.GET, "/v1/entities/dev-\(entity)", nil, tenant)
            })
            results.append(try await runner.measure("entity lookup (strong)") { random in
                let tenant = dataset.layout.pickTenant(&random)
                let entity = random.next() % UInt64(dataset.layout.entityCounts[tenant])
                return (.GET, "/v1/entities/dev-\(entity)?consistency=strong", nil, tenant)
            })
            results.append(try await runner.measure("filter a0 > x AND a1 < y, limit 100") { random in
                let tenant = dataset.layout.pickTenant(&random)
                let low = 900 + Double(random.next() % 90)
                let high = 10 + Double(random.next() % 90)
                let body = #"{"filter": {"and": [{"attribute": "a0", "op": ">", "value": \#(low)}, {"attribute": "a1", "op": "<", "value": \#(high)}]}, "limit": 100}"#
                return (.POST, "/v1/query/entities", body, tenant)
            })
            results.append(try await runner.measure("7-day series of one entity (10,080 points)") { _ in
                (.GET, "/v1/entities/dev-0/series/a0?from=\(Self.daysAgo(7))&limit=10000", nil, 0)
            })
            results.append(try await runner.measure("hourly aggregate over \(shape.aggregateRows) rows (analytics)") { _ in
                let body = #"{"attribute": "a0", "from": "\#(Self.daysAgo(30))", "to": "\#(Self.daysAgo(-1))", "bucket": "1h", "fn": ["avg", "min", "max", "count"]}"#
                return (.POST, "/v1/query/aggregate", body, 0)
            })
            print("")
            print("Replica lag while ingest runs (\(seconds) s of 1,000-point batches from \(clients) clients)...")
            let lag = try await ReplicaLagProbe.duringIngest(
                primary: url, replicas: replicaURLs, http: http, base: base, keys: keys, layout: dataset.layout,
                clients: clients, seconds: max(seconds, 3), logger: logger
            )

            print("")
            print("Read benchmark: \(shape.entities) entities, \(shape.values) values, \(replicaURLs.count) replicas, \(clients) clients, \(seconds) s per operation")
            print("operation | requests | p50 ms | p95 ms | p99 ms | db p50 ms | db p95 ms | served by")
            for result in results { print(result.line) }
            print("replica lag under ingest (\(lag.ingestedPoints) points acknowledged, \(lag.samples.count) samples): p50 \(IngestBenchCommand.ms(lag.summary.p50)) ms, p95 \(IngestBenchCommand.ms(lag.summary.p95)) ms, p99 \(IngestBenchCommand.ms(lag.summary.p99)) ms, max \(IngestBenchCommand.ms(lag.summary.max)) ms")
            let failed = results.filter { $0.failures > 0 }
            try await http.shutdown()
            await group.triggerGracefulShutdown()
            try await server.value
            if !failed.isEmpty {
                print("FAILED: \(failed.map(\.name).joined(separator: ", ")) answered errors")
                throw ExitCode(1)
            }
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    /// The dataset's tenant keys: generated once and kept in the bench folder.
    func dataset(_ dataset: ReadBenchDataset, dependencies: ServerDependencies, url: DatabaseURL, logger: Logger) async throws -> [String] {
        let keysFile = URL(fileURLWithPath: self.dir).appendingPathComponent("\(dataset.name)-keys.json")
        if let data = try? Data(contentsOf: keysFile), let keys = try? JSONDecoder().decode([String].self, from: data),
           try await dependencies.catalog.tenant(forKey: APIKey(value: keys[0])) != nil {
            print("Reusing the dataset \(dataset.name) in \(self.dir).")
            return keys
        }
        print("Generating \(dataset.shape.entities) entities and \(dataset.shape.values) values...")
        let keys = try await withPostgresClient(url: url, logger: logger) { client in
            try await dataset.generate(catalog: dependencies.catalog, client: client, logger: logger)
        }
        try JSONEncoder().encode(keys).write(to: keysFile)
        return keys
    }

    static func waitForReplicas(_ router: ReadRouter, primary: DatabaseURL, logger: Logger) async throws {
        let deadline = ContinuousClock.now + .seconds(1800)
        while ContinuousClock.now < deadline {
            let views = router.views().filter { $0.role == .replica }
            if views.allSatisfy({ ($0.lagMilliseconds ?? .infinity) < 100 }) { return }
            try await Task.sleep(for: .seconds(1))
        }
        throw ValidationErrorText("the replicas did not catch up within 30 minutes")
    }

    static func daysAgo(_ days: Int) -> String {
        Timestamps.format(micros: Int64((Date().timeIntervalSince1970 - Double(days) * 86_400) * 1_000_000))
    }
}
