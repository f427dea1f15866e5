import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization
import TesseraStore

/// The write rows of `bench all`: a bulk insert of 1,000 values (latency of the
/// whole), sustained ingest (values a second, the median of `plan.runs` runs), and
/// Tessera's replica lag while it ingests. Each system writes values of the same
/// shape: Tessera JSON batches over HTTP, COPY straight into the partitioned table,
/// naive EAV one INSERT a value, pure JSONB one upsert a batch, InfluxDB line
/// protocol batches.
struct AllBenchWrites {
    let environment: BenchEnvironment
    let layout: BenchDataset
    let keys: [String]
    let tenants: [PeerDatabase.Tenant]
    let plan: AllBenchPlan
    let pg: PostgresClient
    let naive: NaiveEAVPeer
    let jsonb: PureJSONBPeer
    let influx: InfluxPeer?
    let logger: Logger

    struct Outcome {
        /// Values Tessera acknowledged (all must be stored once the flush drains).
        var tesseraAcknowledged = 0
        /// Rows COPY wrote into the time series.
        var copiedRows = 0
    }

    func run(report: inout BenchReport, targets: (bulk: String, ingest: String, lag: String)) async throws -> Outcome {
        var outcome = Outcome()
        let plan = self.plan
        let layout = self.layout
        let tenants = self.tenants
        let naive = self.naive
        let jsonb = self.jsonb
        let tenantIndex = Dictionary(uniqueKeysWithValues: tenants.enumerated().map { ($1.id, $0) })
        let bodies = layout.bodies(seed: 1_234)
        let environment = self.environment
        let keys = self.keys
        let batches = Mutex(0)

        // Bulk insert of 1,000 values, one writer.
        var bulk = [String: BenchReport.Cell]()
        var single = PeerRunner(clients: 1, seconds: Double(plan.seconds))
        single.maxOperations = plan.smoke ? 3 : 200
        let tesseraBulk = await single.measure("Tessera: POST of 1,000 points") { random in
            let body = bodies[Int(random.next() % UInt64(bodies.count))]
            let accepted = try await Self.post(environment, body: body.body, key: keys[body.tenant])
            batches.withLock { $0 += accepted }
        }
        bulk["Tessera"] = .peer(tesseraBulk)
        let copyRows = tenants.map(\.id)
        let copied = Mutex(0)
        bulk["PostgreSQL COPY"] = .peer(
            await single.measure("COPY of 1,000 rows") { random in
                let rows = IngestBenchCommand.copyRows(1_000, tenants: copyRows, dataset: layout, seed: random.next())
                try await self.pg.withConnection { connection in
                    try await connection.copyFrom(table: "entity_values_ts", columns: IngestBenchCommand.copyColumns, logger: self.logger) {
                        try await $0.write(rows)
                    }
                }
                copied.withLock { $0 += 1_000 }
            }
        )
        var slow = single
        slow.maxOperations = plan.smoke ? 2 : 10
        bulk["naive EAV"] = .peer(
            await slow.measure("naive EAV: 1,000 INSERTs") { random in
                for _ in 0..<1_000 { try await naive.insert(PeerDatabase.point(layout, tenants, &random)) }
            }
        )
        bulk["pure JSONB"] = .peer(
            await single.measure("pure JSONB: upsert of 1,000 values") { random in
                try await jsonb.write((0..<1_000).map { _ in PeerDatabase.point(layout, tenants, &random) })
            }
        )
        if let influx = self.influx {
            bulk["InfluxDB"] = .peer(
                await single.measure("InfluxDB: write of 1,000 lines") { random in
                    let points = (0..<1_000).map { _ in PeerDatabase.point(layout, tenants, &random) }
                    try await influx.write(database: InfluxPeer.database, lines: InfluxPeer.lines(points, tenantIndex: tenantIndex))
                }
            )
        }
        report.add("bulk insert of 1,000 values (one writer)", .latency, target: targets.bulk, bulk)

        // Sustained ingest: `runs` runs a system, the median counts. Each system's run starts on a
        // quiet machine and is charged the CPU the machine spends until it is quiet again.
        var rates = [String: [Double]]()
        var cost = CPUCost()
        var lag: LatencySummary?
        let writers = plan.smoke ? 2 : 8
        let meter = MachineCPU(smoke: plan.smoke)
        for run in 1...plan.runs {
            print("  sustained ingest, run \(run) of \(plan.runs)...")
            let ((points, seconds), cpu) = try await meter.accounted("Tessera") {
                // Until stored: the flush's drain of the staging backlog counts, and the next system starts after it.
                if run == plan.runs && !environment.replicas.isEmpty {
                    let probe = try await ReplicaLagProbe.duringIngest(
                        primary: environment.primary,
                        replicas: environment.replicas,
                        http: environment.http,
                        base: environment.base,
                        keys: keys,
                        layout: layout,
                        clients: writers,
                        seconds: plan.ingestSeconds,
                        logger: self.logger
                    )
                    lag = probe.summary
                    return (probe.ingestedPoints, probe.elapsed + (try await environment.waitUntilFlushed(since: probe.loadEnded)))
                }
                let load = try await IngestBenchCommand.drive(
                    http: environment.http,
                    base: environment.base,
                    bodies: bodies,
                    keys: keys,
                    clients: writers,
                    seconds: plan.ingestSeconds
                )
                return (load.acknowledgedPoints, load.elapsed + (try await environment.waitUntilFlushed()))
            }
            outcome.tesseraAcknowledged += points
            rates["Tessera", default: []].append(Double(points) / seconds)
            cost.add("Tessera", values: points, cpu: cpu)
            let (ceiling, copyCPU) = try await meter.accounted("PostgreSQL COPY") {
                try await IngestBenchCommand.copyCeiling(
                    url: environment.primary,
                    rows: plan.smoke ? 20_000 : 2_000_000,
                    tenants: copyRows,
                    dataset: layout,
                    logger: self.logger
                )
            }
            outcome.copiedRows += ceiling.rows
            rates["PostgreSQL COPY", default: []].append(ceiling.rate)
            cost.add("PostgreSQL COPY", values: ceiling.rows, cpu: copyCPU)
            let sustained = PeerRunner(clients: writers, seconds: Double(plan.ingestSeconds))
            let (naiveRun, naiveCPU) = await meter.accounted("naive EAV") {
                await sustained.measure("naive EAV: INSERT a value") { try await naive.insert(PeerDatabase.point(layout, tenants, &$0)) }
            }
            rates["naive EAV", default: []].append(Double(naiveRun.latencies.count) / Double(plan.ingestSeconds))
            cost.add("naive EAV", values: naiveRun.latencies.count, cpu: naiveCPU)
            let (jsonbRun, jsonbCPU) = await meter.accounted("pure JSONB") {
                await sustained.measure("pure JSONB: 1,000-value upserts") { random in
                    try await jsonb.write((0..<1_000).map { _ in PeerDatabase.point(layout, tenants, &random) })
                }
            }
            rates["pure JSONB", default: []].append(Double(jsonbRun.latencies.count * 1_000) / Double(plan.ingestSeconds))
            cost.add("pure JSONB", values: jsonbRun.latencies.count * 1_000, cpu: jsonbCPU)
            if let influx = self.influx {
                let (influxRun, influxCPU) = await meter.accounted("InfluxDB") {
                    await sustained.measure("InfluxDB: 5,000-line writes") { random in
                        let points = (0..<5_000).map { _ in PeerDatabase.point(layout, tenants, &random) }
                        try await influx.write(database: InfluxPeer.database, lines: InfluxPeer.lines(points, tenantIndex: tenantIndex))
                    }
                }
                rates["InfluxDB", default: []].append(Double(influxRun.latencies.count * 5_000) / Double(plan.ingestSeconds))
                cost.add("InfluxDB", values: influxRun.latencies.count * 5_000, cpu: influxCPU)
            }
        }
        let note = plan.runs > 1 ? "median of \(plan.runs)" : nil
        report.add(
            "sustained ingest, values/s (\(writers) writers)",
            .throughput,
            target: targets.ingest,
            rates.mapValues { .rate(AllBenchPlan.median($0), note: note) }
        )
        report.add(
            "sustained ingest, CPU a stored value (whole machine, until quiet again)",
            .cpu,
            target: "—",
            cost.cells(note: plan.runs > 1 ? "all \(plan.runs) runs" : nil)
        )
        report.add("replication lag under ingest", .latency, target: targets.lag, ["Tessera": lag.map { .latency($0) } ?? .absent("no replica")])

        outcome.tesseraAcknowledged += batches.withLock { $0 }
        outcome.copiedRows += copied.withLock { $0 }
        try await environment.waitUntilFlushed()
        return outcome
    }

    /// One JSON batch; returns the points accepted, or throws on anything but 200.
    static func post(_ environment: BenchEnvironment, body: ByteBuffer, key: String) async throws -> Int {
        var request = HTTPClientRequest(url: environment.base + "/v1/ingest")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(body)
        let response = try await environment.http.execute(request, timeout: .seconds(60))
        let answer = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else { throw ValidationErrorText("ingest answered \(response.status.code): \(String(buffer: answer).prefix(200))") }
        let result = try JSONSerialization.jsonObject(with: Data(answer.readableBytesView)) as? [String: Any]
        return result?["accepted"] as? Int ?? 0
    }
}
