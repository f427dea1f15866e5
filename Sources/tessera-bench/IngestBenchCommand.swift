import ArgumentParser
import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import PostgresNIO
import Prometheus
import ServiceLifecycle
import TesseraCore
import TesseraLocal
import TesseraServer
import TesseraStore

/// `tessera-bench ingest`: drives the real HTTP write path from concurrent clients
/// with batches of 1,000 points for a fixed time, then checks the database holds
/// exactly what was acknowledged, and loads as many rows with PostgreSQL's own COPY
/// into `entity_values_ts` (the ceiling) for the ratio.
struct IngestBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ingest", abstract: "Sustained ingest over HTTP, beside raw COPY.")

    @Option(help: "Folder of the benchmark's own local cluster.") var dir = ".tessera-bench"
    @Option(help: "Seconds of sustained load.") var seconds = 30
    @Option(help: "Concurrent HTTP clients.") var clients = 8
    @Option(help: "Port of the benchmark's server on 127.0.0.1.") var port = 18181
    @Flag(
        help:
            "Send every distinct batch once, unmeasured, before the run: its entities are then known (a fleet in steady state), not created on first sight during it."
    ) var warm = false
    @Option(
        help:
            "Offered load in points/s, paced (open loop; latency counts from each batch's scheduled time). Default: every client sends its next batch as soon as the last is answered."
    ) var rate: Int?
    @Option(help: "Database sessions that run each flush at once, each moving its part of the staged tenants (TESSERA_FLUSH_SESSIONS).")
    var flushSessions = IngestPipeline.Configuration().flushSessions
    @Flag(help: "A few seconds on a small dataset, for CI: checks it works, measures nothing.") var smoke = false
    @Flag(help: "Request handlers on Swift's global concurrent executor, not on their connection's event loop (TESSERA_HTTP_HANDLERS_ON_EVENT_LOOP=off).")
    var globalExecutor = false

    func validate() throws {
        if let rate = self.rate, rate <= 0 { throw ValidationError("--rate must be a positive number of points per second.") }
        if self.flushSessions < 1 { throw ValidationError("--flush-sessions must be at least 1.") }
    }

    func run() async throws {
        let logger = {
            var logger = Logger(label: "tessera.bench")
            logger.logLevel = .warning
            return logger
        }()
        let seconds = self.smoke ? 3 : self.seconds
        let clients = self.smoke ? 2 : self.clients
        var shape = BenchDataset.Shape()
        if self.smoke {
            shape.tenants = 10
            shape.entities = 10_000
            shape.distinctBodies = 20
        }
        let dataset = BenchDataset(shape: shape)

        let cluster = LocalCluster(configuration: .init(directory: self.dir, profile: self.smoke ? .test : .tuned), logger: logger)
        let status = try await cluster.up()
        let url = try DatabaseURL.parsed(status.primary!.url)
        // The server connects as tessera_app, under row-level security, as `tessera serve` does.
        let appURL = try DatabaseURL.parsed(status.primary!.appURL ?? status.primary!.url)
        let dependencies: ServerDependencies
        do {
            _ = try await withPostgresClient(url: url, logger: logger) { try await Migrator(client: $0, logger: logger).migrate() }
            dependencies = try ServerDependencies(
                primaryURL: appURL,
                poolSize: 8,
                ingest: .init(flushSessions: self.flushSessions),
                metrics: PrometheusCollectorRegistry(),
                logger: logger
            )
        } catch {
            // The processes started above stop with the run (a dataset migrated by another build, say).
            _ = try? await cluster.down()
            throw error
        }
        let app = buildApplication(
            configuration: .init(host: "127.0.0.1", port: self.port, adminToken: RandomToken.base62(length: 32), handlersOnEventLoop: !self.globalExecutor),
            dependencies: dependencies,
            logger: logger
        )
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let server = Task { try await group.run() }
        defer { server.cancel() }

        // The clients' own event loops, as in another process (not queued behind the server's).
        let clientLoops = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        defer { clientLoops.shutdownGracefully { _ in } }
        let http = HTTPClient(eventLoopGroup: clientLoops, configuration: .init(timeout: .init(connect: .seconds(5), read: .seconds(60))))
        do {
            let base = "http://127.0.0.1:\(self.port)"
            try await Self.waitUntilServing(http, base)
            let run = "\(Int(Date().timeIntervalSince1970))"
            print("Setting up \(shape.tenants) tenants, \(shape.attributes) attributes each (\(shape.hotAttributes) hot, \(shape.textAttributes) text)...")
            var tenants = [Tenant]()
            var keys = [String]()
            for index in 0..<shape.tenants {
                let (tenant, key) = try await dependencies.catalog.createTenant(name: "bench-\(run)-\(index)")
                for attribute in 0..<shape.attributes {
                    let type: ValueType = dataset.isText(attribute) ? .text : .decimal
                    _ = try await dependencies.catalog.putAttribute(
                        .init(name: dataset.attributeName(attribute), type: type, hot: dataset.isHot(attribute)),
                        tenant: tenant
                    )
                }
                tenants.append(tenant)
                keys.append(key.value)
            }
            let bodies = dataset.bodies(seed: 42)
            var warmed = 0
            if self.warm {
                print("Warming: \(bodies.count) batches once, so their entities exist...")
                warmed = try await Self.sendOnce(http: http, base: base, bodies: bodies, keys: keys, clients: clients)
                _ = try await BenchEnvironment.waitUntilFlushed(dependencies)
            }
            print("Driving \(clients) clients with \(shape.batchPoints)-point batches for \(seconds) s...")
            if let rate = self.rate { print("Offered load: \(rate) points/s, paced.") }
            let load = try await Self.drive(http: http, base: base, bodies: bodies, keys: keys, clients: clients, seconds: seconds, rate: self.rate)
            let acknowledged = load.acknowledgedPoints

            // Every acknowledged point, flushed, exactly: the count per tenant must match.
            let drain = try await BenchEnvironment.waitUntilFlushed(dependencies)
            let tenantIDs = tenants.map(\.id)
            let stored = try await withPostgresClient(url: url, logger: logger) { client in
                let rows = try await client.query("SELECT count(*)::bigint FROM entity_values_ts WHERE tenant_id = ANY(\(tenantIDs))")
                for try await count in rows.decode(Int.self) { return count }
                return -1
            }
            let ceiling = try await Self.copyCeiling(url: url, rows: max(1, min(acknowledged, 3_000_000)), tenants: tenantIDs, dataset: dataset, logger: logger)

            let summary = LatencySummary(milliseconds: load.latencies)
            let rate = Double(acknowledged) / load.elapsed
            print("")
            print("ingest over HTTP: \(acknowledged) points acknowledged in \(String(format: "%.1f", load.elapsed)) s = \(Int(rate)) points/s")
            let storedRate = Double(acknowledged) / (load.elapsed + drain)
            print(
                "  stored: \(Int(storedRate)) points/s (the flush moved the last staged points \(String(format: "%.1f", drain)) s after the last acknowledgement)"
            )
            print(
                "  batch acknowledgement latency (ms, \(summary.count) batches): p50 \(Self.ms(summary.p50)), p95 \(Self.ms(summary.p95)), p99 \(Self.ms(summary.p99)), max \(Self.ms(summary.max))"
            )
            if load.rejectedPoints > 0 {
                print("  points rejected: \(load.rejectedPoints), e.g. \(load.firstRejection ?? "?")")
            }
            print("  answers: \(load.statuses.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))")
            print(
                "raw COPY into entity_values_ts (2 connections): \(ceiling.rows) rows in \(String(format: "%.1f", ceiling.seconds)) s = \(Int(ceiling.rate)) rows/s"
            )
            print(
                "ratio HTTP ingest / raw COPY: \(String(format: "%.2f", storedRate / ceiling.rate)) stored, \(String(format: "%.2f", rate / ceiling.rate)) acknowledged"
            )
            let expected = acknowledged + warmed
            print(
                "check: stored \(stored) rows for the benchmark's tenants, acknowledged \(expected)\(warmed > 0 ? " (\(warmed) while warming)" : ""): \(stored == expected ? "exact" : "MISMATCH")"
            )
            try await http.shutdown()
            await group.triggerGracefulShutdown()
            try await server.value
            _ = try await cluster.down()
            if stored != expected { throw ExitCode(1) }
        } catch {
            try? await http.shutdown()
            _ = try? await cluster.down()
            throw error
        }
    }

    struct Load {
        var acknowledgedPoints = 0
        var rejectedPoints = 0
        var firstRejection: String?
        var latencies = [Double]()
        var statuses = [Int: Int]()
        var elapsed = 0.0
    }

    /// Closed loop by default: each client posts its next batch when the last is answered,
    /// so the server runs saturated. With `rate` (points/s), batch n of the run is due at
    /// n × points ÷ rate from the start, taken by the clients in turn: the load does not
    /// slow down when the server does, and a batch's latency counts from when it was due
    /// (a late client's wait included, as its caller would see it).
    static func drive(
        http: HTTPClient,
        base: String,
        bodies: [(tenant: Int, body: ByteBuffer, points: Int)],
        keys: [String],
        clients: Int,
        seconds: Int,
        rate: Int? = nil
    ) async throws -> Load {
        let start = ContinuousClock.now
        let end = start + .seconds(seconds)
        let interval: Duration? = rate.map { rate in
            let meanPoints = Double(bodies.map(\.points).reduce(0, +)) / Double(max(1, bodies.count))
            return .nanoseconds(Int64(meanPoints / Double(max(1, rate)) * 1e9))
        }
        var total = try await withThrowingTaskGroup(of: Load.self) { group in
            for client in 0..<clients {
                group.addTask {
                    var load = Load()
                    var next = client
                    // Paced, a client that fell behind still sends every batch due before the end.
                    while interval != nil || ContinuousClock.now < end {
                        let (tenant, body, points) = bodies[next % bodies.count]
                        var due = ContinuousClock.now
                        if let interval {
                            due = start + interval * next
                            if due >= end { break }
                            if due > ContinuousClock.now { try await Task.sleep(until: due, clock: .continuous) }
                        }
                        next += clients
                        let sent = interval == nil ? ContinuousClock.now : due
                        let answer = try await Self.post(body, key: keys[tenant], http: http, base: base)
                        let took = ContinuousClock.now - sent
                        load.latencies.append(took.benchMilliseconds)
                        load.statuses[Int(answer.status.code), default: 0] += 1
                        if answer.status == .ok {
                            load.acknowledgedPoints += answer.accepted
                            load.rejectedPoints += points - answer.accepted
                            if answer.accepted < points, load.firstRejection == nil { load.firstRejection = answer.firstRejection ?? "?" }
                        }
                        if interval == nil, answer.status.code == 429 || answer.status.code == 503 { try await Task.sleep(for: .milliseconds(50)) }
                    }
                    return load
                }
            }
            return try await group.reduce(into: Load()) { total, load in
                total.acknowledgedPoints += load.acknowledgedPoints
                total.rejectedPoints += load.rejectedPoints
                total.firstRejection = total.firstRejection ?? load.firstRejection
                total.latencies += load.latencies
                total.statuses.merge(load.statuses, uniquingKeysWith: +)
            }
        }
        let elapsed = ContinuousClock.now - start
        total.elapsed = elapsed.benchSeconds
        return total
    }

    /// Posts each body once (retrying 429 and 503), `clients` at a time; returns the points acknowledged.
    static func sendOnce(
        http: HTTPClient,
        base: String,
        bodies: [(tenant: Int, body: ByteBuffer, points: Int)],
        keys: [String],
        clients: Int
    ) async throws -> Int {
        try await withThrowingTaskGroup(of: Int.self) { group in
            for client in 0..<clients {
                group.addTask {
                    var acknowledged = 0
                    for index in stride(from: client, to: bodies.count, by: clients) {
                        let (tenant, body, _) = bodies[index]
                        for _ in 0..<100 {
                            let answer = try await Self.post(body, key: keys[tenant], http: http, base: base)
                            if answer.status == .ok {
                                acknowledged += answer.accepted
                                break
                            }
                            guard answer.status.code == 429 || answer.status.code == 503 else { break }
                            try await Task.sleep(for: .milliseconds(100))
                        }
                    }
                    return acknowledged
                }
            }
            return try await group.reduce(0, +)
        }
    }

    /// One JSON batch's answer: its status and, when 200, the points accepted and the first rejection's detail.
    struct Answer: Sendable {
        var status: HTTPResponseStatus
        var accepted = 0
        var firstRejection: String?
    }

    /// POSTs one JSON batch to `/v1/ingest` with the tenant's key.
    static func post(_ body: ByteBuffer, key: String, http: HTTPClient, base: String) async throws -> Answer {
        var request = HTTPClientRequest(url: base + "/v1/ingest")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(body)
        let response = try await http.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        var answer = Answer(status: response.status)
        if response.status == .ok {
            let result = try JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any]
            answer.accepted = result?["accepted"] as? Int ?? 0
            answer.firstRejection = (result?["rejected"] as? [[String: Any]])?.first?["detail"] as? String
        }
        return answer
    }

    struct Ceiling {
        var rows: Int
        var seconds: Double
        var rate: Double { Double(self.rows) / self.seconds }
    }

    /// The same number of rows, of the same shape, COPY-ed straight into the partitioned table.
    static func copyCeiling(url: DatabaseURL, rows: Int, tenants: [Int64], dataset: BenchDataset, logger: Logger) async throws -> Ceiling {
        let connections = 2
        let chunks: [ByteBuffer] = (0..<connections).map { part in
            Self.copyRows(rows / connections, tenants: tenants, dataset: dataset, seed: 7 + UInt64(part))
        }
        let start = ContinuousClock.now
        try await withPostgresClient(url: url, logger: logger) { client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for chunk in chunks {
                    group.addTask {
                        try await client.withConnection { connection in
                            try await connection.query("SET synchronous_commit = off", logger: logger)
                            try await connection.copyFrom(
                                table: "entity_values_ts",
                                columns: Self.copyColumns,
                                logger: logger
                            ) { writer in
                                var rest = chunk
                                while let slice = rest.readSlice(length: min(rest.readableBytes, 1 << 20)), slice.readableBytes > 0 {
                                    try await writer.write(slice)
                                }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        let elapsed = ContinuousClock.now - start
        let seconds = elapsed.benchSeconds
        return Ceiling(rows: rows / connections * connections, seconds: seconds)
    }

    static let copyColumns = [
        "tenant_id", "entity_id", "attribute_id", "value_int", "value_decimal", "value_text", "value_bool", "value_ts", "value_json", "ts",
    ]

    /// Rows of the load's shape in COPY text format, for `copyColumns`.
    static func copyRows(_ count: Int, tenants: [Int64], dataset: BenchDataset, seed: UInt64) -> ByteBuffer {
        var random = SplitMix64(seed: seed)
        var buffer = ByteBufferAllocator().buffer(capacity: count * 100)
        // Each row its own time: a point is (entity, attribute, time), unique in the table.
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000) - Int64(seed % 1_000_000) * Int64(count)
        for index in 0..<count {
            let tenant = tenants[Int(random.next() % UInt64(tenants.count))]
            let attribute = Int(random.next() % UInt64(dataset.shape.attributes))
            let value = dataset.isText(attribute) ? "\\N\tstate-\(random.next() % 16)" : "\(Double(random.next() % 100_000) / 100)\t\\N"
            buffer.writeString(
                "\(tenant)\t\(random.next() % 1_000_000)\t\(attribute + 1)\t\\N\t\(value)\t\\N\t\\N\t\\N\t\(Timestamps.format(micros: now - Int64(index)))\n"
            )
        }
        return buffer
    }

    static func waitUntilServing(_ http: HTTPClient, _ base: String) async throws {
        for _ in 0..<100 {
            if let response = try? await http.execute(HTTPClientRequest(url: base + "/healthz"), timeout: .seconds(2)), response.status == .ok {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ValidationError("The benchmark's server did not start on \(base).")
    }

    static func ms(_ value: Double) -> String { String(format: "%.1f", value) }
}
