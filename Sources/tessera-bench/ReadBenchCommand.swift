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

/// `tessera-bench read`: the read path over HTTP on a primary with streaming
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
    @Flag(help: "Entity lookups as unnamed statements, parsed and planned each time (TESSERA_DB_PREPARED_STATEMENTS=off).") var unprepared = false
    @Flag(
        help:
            "Only what the tenant wall costs a lookup at the database: the statement before row-level security, the same with the tenant set in it as the superuser, and as tessera_app, in turns (--seconds each, 3 rounds)."
    ) var rowSecurity = false
    @Flag(help: "With --zipf: cached lookups live their TTL from the miss that stored them, not from their last hit (TESSERA_CACHE_ENTITY_TTL_SLIDING=off).")
    var fixedEntityTTL = false
    @Flag(help: "Request handlers on Swift's global concurrent executor, not on their connection's event loop (TESSERA_HTTP_HANDLERS_ON_EVENT_LOOP=off).")
    var globalExecutor = false

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

        let environment = try await BenchEnvironment.start(
            directory: self.dir,
            replicas: self.replicas,
            port: self.port,
            smoke: self.smoke,
            entityTTL: self.entityTTL,
            slidingEntityTTL: !self.fixedEntityTTL,
            preparedStatements: !self.unprepared,
            handlersOnEventLoop: !self.globalExecutor,
            logger: logger
        )
        let http = environment.http
        let base = environment.base
        let url = environment.primary
        let replicaURLs = environment.replicas
        do {
            let keys = try await environment.dataset(dataset, logger: logger)
            print("Waiting for the replicas to replay the dataset...")
            try await environment.waitForReplicas()

            if self.rowSecurity || self.smoke {
                let rounds = self.smoke ? 1 : 3
                print(
                    "Entity lookups at the database: with and without the tenant wall, prepared or not, direct or through pgbouncer (1 connection, \(seconds) s each, \(rounds) rounds)..."
                )
                let bench = RowSecurityBench(
                    superuser: url,
                    server: environment.appPrimary,
                    pooled: environment.pooledAppPrimary,
                    seconds: seconds,
                    rounds: rounds,
                    logger: logger
                )
                print("lookup statement | lookups | p50 ms | p95 ms | p99 ms")
                for (variant, summary) in try await bench.run() {
                    print(
                        "\(variant.rawValue) | \(summary.count) | \(String(format: "%.3f", summary.p50)) | \(String(format: "%.3f", summary.p95)) | \(String(format: "%.3f", summary.p99))"
                    )
                }
                if self.rowSecurity {
                    await environment.stop()
                    return
                }
            }
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
                // Without the cache only PostgreSQL's buffers need warming: 30 s at most.
                results.append(try await runner.measure("zipf lookup, cache off", warmup: min(warmup, .seconds(30)), lookup))
                if let cachedBase = environment.cachedBase {
                    let cachedRunner = ReadBenchRunner(http: http, base: cachedBase, keys: keys, dataset: dataset, clients: clients, seconds: seconds)
                    let cached = try await cachedRunner.measure("zipf lookup, cache on", warmup: warmup, lookup)
                    results.append(cached)
                    let hits = cached.sources["cache", default: 0]
                    print(
                        "    cache hit rate: \(String(format: "%.1f", 100 * Double(hits) / Double(max(1, cached.total.count))))% of \(cached.total.count) lookups"
                    )
                    let rate = Double(cached.total.count) / Double(seconds)
                    let ideal = sampler.idealHitRate(lookupsPerSecond: rate, ttlSeconds: Double(self.entityTTL), sliding: !self.fixedEntityTTL)
                    let mode = self.fixedEntityTTL ? "fixed" : "sliding"
                    print(
                        "    a perfect cache with the same \(self.entityTTL) s \(mode) entity TTL at \(Int(rate)) lookups/s would hit \(String(format: "%.1f", 100 * ideal))%"
                    )
                    if let served = cached.bySource["cache"] {
                        print(
                            "    answered from the cache: p50 \(IngestBenchCommand.ms(served.p50)) ms, p95 \(IngestBenchCommand.ms(served.p95)) ms, p99 \(IngestBenchCommand.ms(served.p99)) ms"
                        )
                    }
                } else {
                    print("    (no Redis in the cluster: install redis-server for the cached run)")
                }
            }
            if self.zipf {
                print("")
                print("operation | requests | p50 ms | p95 ms | p99 ms | db p50 ms | db p95 ms | served by")
                for result in results { print(result.line) }
                await environment.stop()
                return
            }
            results.append(
                try await runner.measure("entity lookup (eventual)") { random in
                    ReadOperations.http(ReadOperations.lookup(dataset.layout, &random))
                }
            )
            results.append(
                try await runner.measure("entity lookup (strong)") { random in
                    ReadOperations.http(ReadOperations.lookup(dataset.layout, &random), consistency: "strong")
                }
            )
            results.append(
                try await runner.measure("filter a0 > x AND a1 < y, limit 100") { random in
                    ReadOperations.http(ReadOperations.filter(dataset.layout, &random))
                }
            )
            results.append(try await runner.measure("7-day series of one entity (10,080 points)") { _ in ReadOperations.seriesHTTP() })
            results.append(
                try await runner.measure("hourly aggregate over \(shape.aggregateRows) rows (analytics)") { _ in
                    ReadOperations.aggregateHTTP()
                }
            )
            print("")
            print("Replica lag while ingest runs (\(seconds) s of 1,000-point batches from \(clients) clients)...")
            let lag = try await ReplicaLagProbe.duringIngest(
                primary: url,
                replicas: replicaURLs,
                http: http,
                base: base,
                keys: keys,
                layout: dataset.layout,
                clients: clients,
                seconds: max(seconds, 3),
                logger: logger
            )

            print("")
            print(
                "Read benchmark: \(shape.entities) entities, \(shape.values) values, \(replicaURLs.count) replicas, \(clients) clients, \(seconds) s per operation"
            )
            print("operation | requests | p50 ms | p95 ms | p99 ms | db p50 ms | db p95 ms | served by")
            for result in results { print(result.line) }
            print(
                "replica lag under ingest (\(lag.ingestedPoints) points acknowledged, \(lag.samples.count) samples): p50 \(IngestBenchCommand.ms(lag.summary.p50)) ms, p95 \(IngestBenchCommand.ms(lag.summary.p95)) ms, p99 \(IngestBenchCommand.ms(lag.summary.p99)) ms, max \(IngestBenchCommand.ms(lag.summary.max)) ms"
            )
            let failed = results.filter { $0.failures > 0 }
            await environment.stop()
            if !failed.isEmpty {
                print("FAILED: \(failed.map(\.name).joined(separator: ", ")) answered errors")
                throw ExitCode(1)
            }
        } catch {
            await environment.stop()
            throw error
        }
    }
}
