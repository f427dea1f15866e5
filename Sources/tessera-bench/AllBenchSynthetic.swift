import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import PostgresNIO
import TesseraCore
import TesseraStore

/// `bench all` on the synthetic dataset: reads first (every system on the same
/// rows), then writes (they add rows), then the table.
struct AllBenchSynthetic {
    let environment: BenchEnvironment
    let dataset: ReadBenchDataset
    let plan: AllBenchPlan
    let directory: String
    let logger: Logger

    private static let target = (
        lookup: "< 10 ms", filter: "< 100 ms", aggregate: "< 1 s", bulk: "< 100 ms", lag: "< 1 s", ingest: "≥ 10,000/s", cache: "> 80%", series: "—"
    )

    func run() async throws -> (BenchReport, [String]) {
        let keys = try await self.environment.dataset(self.dataset, logger: self.logger)
        print("Waiting for the replica to replay the dataset...")
        try await self.environment.waitForReplicas()
        let plan = self.plan
        let logger = self.logger

        return try await PeerDatabase.withClient(
            url: self.environment.primary,
            connections: plan.clients + 2,
            statementTimeout: plan.statementTimeout,
            logger: logger
        ) { pg in
            let tenants = try await PeerDatabase.tenants(keys: keys, catalog: self.environment.dependencies.catalog, client: pg)
            let stored = try await Self.count(pg, tenants)
            let influx = try await InfluxSession.start(
                directory: self.directory + "/influxdb",
                http: self.environment.http,
                memoryLimitBytes: plan.influxMemoryBytes,
                logger: logger
            )
            do {
                let result = try await self.measure(pg: pg, keys: keys, tenants: tenants, stored: stored, influx: influx)
                await influx?.stop()
                return result
            } catch {
                await influx?.stop()
                throw error
            }
        }
    }

    private func measure(
        pg: PostgresClient,
        keys: [String],
        tenants: [PeerDatabase.Tenant],
        stored: Int,
        influx: InfluxSession?
    ) async throws -> (BenchReport, [String]) {
        let layout = self.dataset.layout
        let plan = self.plan
        let logger = self.logger
        var failures = [String]()
        var report = BenchReport(
            machine: AllBenchPlan.machine(postgres: try await AllBenchPlan.postgresVersion(pg), influx: influx?.version ?? "not installed"),
            dataset:
                "synthetic: \(self.dataset.shape.entities) entities, \(stored) values, 100 tenants (the largest 40%), 50 attributes (10 hot), 10% text, 60 days"
        )

        // Load the same rows into each peer.
        print("Loading the dataset's rows into the peers...")
        let naive = NaiveEAVPeer(client: pg, tenants: tenants, logger: logger)
        let jsonb = PureJSONBPeer(client: pg, tenants: tenants, logger: logger)
        let naiveRows = try await Self.timed("naive EAV") { try await naive.load() }
        if naiveRows != stored { failures.append("naive EAV holds \(naiveRows) rows of \(stored)") }
        let documents = try await Self.timed("pure JSONB") { try await jsonb.load() }
        if documents == 0 { failures.append("pure JSONB holds no documents") }
        var influx = influx
        if let session = influx {
            do {
                try await self.loadInflux(session, pg: pg, tenants: tenants, stored: stored, failures: &failures)
            } catch {
                print("  InfluxDB could not take the dataset: \(String(reflecting: error)); its column is empty.")
                influx = nil
            }
        }

        // Reads.
        print("Reads...")
        let runner = ReadBenchRunner(
            http: self.environment.http,
            base: self.environment.base,
            keys: keys,
            dataset: self.dataset,
            clients: plan.clients,
            seconds: plan.seconds
        )
        let peers = plan.runner
        var cells = [String: BenchReport.Cell]()

        cells = [:]
        cells["Tessera"] = .latency(try await runner.measure("Tessera: entity lookup") { ReadOperations.http(ReadOperations.lookup(layout, &$0)) }.total)
        cells["naive EAV"] = .peer(await peers.measure("naive EAV: entity lookup") { try await naive.lookup(ReadOperations.lookup(layout, &$0)) })
        cells["pure JSONB"] = .peer(await peers.measure("pure JSONB: entity lookup") { try await jsonb.lookup(ReadOperations.lookup(layout, &$0)) })
        if let influx {
            cells["InfluxDB"] = .peer(
                await peers.measure("InfluxDB: entity lookup") {
                    try await influx.peer.lookup(ReadOperations.lookup(layout, &$0), timeout: plan.statementTimeout)
                }
            )
        }
        cells["PostgreSQL COPY"] = .absent("n/a")
        report.add("single entity lookup", .latency, target: Self.target.lookup, cells)

        cells = ["PostgreSQL COPY": .absent("n/a")]
        cells["Tessera"] = .latency(
            try await runner.measure("Tessera: filter a0 > x AND a1 < y") { ReadOperations.http(ReadOperations.filter(layout, &$0)) }.total
        )
        cells["naive EAV"] = .peer(await peers.measure("naive EAV: filter") { try await naive.filter(ReadOperations.filter(layout, &$0)) })
        cells["pure JSONB"] = .peer(await peers.measure("pure JSONB: filter") { try await jsonb.filter(ReadOperations.filter(layout, &$0)) })
        if influx != nil { cells["InfluxDB"] = .absent("no filter on latest values") }
        report.add("multi-attribute filter (2 ranges, limit 100)", .latency, target: Self.target.filter, cells)

        cells = ["PostgreSQL COPY": .absent("n/a"), "pure JSONB": .absent("keeps no history")]
        cells["Tessera"] = .latency(
            try await runner.measure("Tessera: hourly aggregate over \(self.dataset.shape.aggregateRows) rows") { _ in ReadOperations.aggregateHTTP() }.total
        )
        cells["naive EAV"] = .peer(await peers.measure("naive EAV: hourly aggregate") { _ in try await naive.aggregate() })
        // InfluxDB's aggregate runs last: over tenant 0's 400k series it may grow until the watchdog kills it.
        report.add("aggregation over \(self.dataset.shape.aggregateRows) rows (hourly, 30 days)", .latency, target: Self.target.aggregate, cells)
        let aggregateRow = report.rows.count - 1

        cells = ["PostgreSQL COPY": .absent("n/a"), "pure JSONB": .absent("keeps no history")]
        cells["Tessera"] = .latency(try await runner.measure("Tessera: 7-day series") { _ in ReadOperations.seriesHTTP() }.total)
        cells["naive EAV"] = .peer(await peers.measure("naive EAV: 7-day series") { _ in try await naive.series() })
        if let influx {
            cells["InfluxDB"] = .peer(await peers.measure("InfluxDB: 7-day series") { _ in try await influx.peer.series(timeout: plan.statementTimeout) })
        }
        report.add("7-day series of one entity (10,080 points)", .latency, target: Self.target.series, cells)

        let hitRate = try await self.cacheHitRate(keys: keys)
        report.add("cache hit rate, Zipf(1.1) lookups", .percent, target: Self.target.cache, ["Tessera": hitRate.map { .rate($0) } ?? .absent("no Redis")])

        // What each holds the same values in, before the writes add more.
        try await AllBenchStorage(
            pg: pg,
            primary: self.environment.primary,
            directory: self.directory,
            influxDirectory: influx == nil ? nil : self.directory + "/influxdb",
            logger: logger
        ).run(report: &report, stored: stored, naiveRows: naiveRows, failures: &failures)

        // Writes, which add rows: bulk insert of 1,000, then sustained ingest.
        print("Writes...")
        let ingest = try await AllBenchWrites(
            environment: self.environment,
            layout: layout,
            keys: keys,
            tenants: tenants,
            plan: plan,
            pg: pg,
            naive: naive,
            jsonb: jsonb,
            influx: influx?.peer,
            logger: logger
        ).run(report: &report, targets: (bulk: Self.target.bulk, ingest: Self.target.ingest, lag: Self.target.lag))
        let after = try await Self.count(pg, tenants)
        if after != stored + ingest.tesseraAcknowledged + ingest.copiedRows {
            failures.append(
                "Tessera's tenants hold \(after) values; expected \(stored) + \(ingest.tesseraAcknowledged) acknowledged + \(ingest.copiedRows) copied"
            )
        }
        if let influx {
            var result = await peers.measure("InfluxDB: hourly aggregate") { _ in try await influx.peer.aggregate(timeout: plan.statementTimeout) }
            if influx.wasKilled, result.didNotFinish { result.firstFailure = "killed past \(plan.influxMemoryBytes >> 30) GiB" }
            report.rows[aggregateRow].cells["InfluxDB"] =
                result.didNotFinish && influx.wasKilled
                ? .absent("did not finish: killed past \(plan.influxMemoryBytes >> 30) GiB") : .peer(result)
        }
        return (report, failures)
    }

    /// Writes the dataset into InfluxDB unless an earlier run in this folder did (a marker
    /// file records what it took), then checks what it holds: every tenant in smoke runs,
    /// three small tenants otherwise (counting tenant 0's 400k series takes more memory
    /// than the watchdog allows).
    private func loadInflux(
        _ influx: InfluxSession,
        pg: PostgresClient,
        tenants: [PeerDatabase.Tenant],
        stored: Int,
        failures: inout [String]
    ) async throws {
        let marker = self.directory + "/influxdb-loaded-\(stored)"
        if FileManager.default.fileExists(atPath: marker) {
            print("  InfluxDB: \(stored) values loaded by an earlier run")
        } else {
            let written = try await Self.timed("InfluxDB") { try await influx.peer.load(from: pg, tenants: tenants, logger: self.logger) }
            if written != stored { failures.append("InfluxDB took \(written) values of \(stored)") }
            FileManager.default.createFile(atPath: marker, contents: Data("\(written)\n".utf8))
        }
        let checked = self.plan.smoke ? Array(tenants.indices) : Array(tenants.indices.dropFirst().prefix(3))
        for index in checked {
            let counted = try await influx.peer.count(tenant: index, timeout: .seconds(120))
            let expected = try await Self.count(pg, [tenants[index]])
            if counted != expected { failures.append("InfluxDB holds \(counted) values of tenant \(index), PostgreSQL \(expected)") }
        }
    }

    /// Zipf lookups through the server with the cache, after a warm-up.
    private func cacheHitRate(keys: [String]) async throws -> Double? {
        guard let cachedBase = self.environment.cachedBase else { return nil }
        let layout = self.dataset.layout
        let sampler = ZipfSampler(n: layout.entityCounts.reduce(0, +), s: 1.1)
        let runner = ReadBenchRunner(
            http: self.environment.http,
            base: cachedBase,
            keys: keys,
            dataset: self.dataset,
            clients: self.plan.clients,
            seconds: self.plan.seconds
        )
        let result = try await runner.measure("Tessera: Zipf lookups with the cache", warmup: .seconds(self.plan.smoke ? 1 : 60)) { random in
            let (tenant, entity) = layout.entity(atRank: sampler.next(&random))
            return (.GET, "/v1/entities/dev-\(entity)", nil, tenant)
        }
        return 100 * Double(result.sources["cache", default: 0]) / Double(max(1, result.total.count))
    }

    /// Values of the dataset's tenants in the time series (naive EAV inserts land elsewhere).
    static func count(_ pg: PostgresClient, _ tenants: [PeerDatabase.Tenant]) async throws -> Int {
        for try await count in try await pg.query("SELECT count(*)::bigint FROM entity_values_ts WHERE tenant_id = ANY(\(tenants.map(\.id)))").decode(Int.self)
        {
            return count
        }
        return 0
    }

    static func timed<T>(_ name: String, _ work: () async throws -> T) async throws -> T {
        let started = ContinuousClock.now
        let value = try await work()
        print("  \(name): \(value) in \(ContinuousClock.now - started)")
        return value
    }
}
