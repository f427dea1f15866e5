import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import PostgresNIO
import Synchronization
import TesseraCore
import TesseraLocal

/// `tessera-bench failover`: what clients see when the primary dies. Each run starts `tessera
/// serve --ha` (a real process, on its own three-node Patroni cluster), loads it with three
/// writers (every fourth request `safe`) and a reader at every consistency, kills the leading
/// node (its Patroni and postmaster, SIGKILL) or only its postmaster, and measures the write
/// unavailability (the longest time without an acknowledged write, from the kill on), the
/// errors clients got, and checks on the new primary that every acknowledged point is stored
/// once with its value. Then SIGTERM, and how long the server took to stop.
struct FailoverBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "failover",
        abstract: "Write unavailability and client errors when the primary is killed (Patroni)."
    )

    enum Crash: String, ExpressibleByArgument {
        case node
        case postmaster
    }

    @Option(help: "Folder of each run's cluster (removed before and after).") var dir = ".tessera-bench-failover"
    @Option(help: "Runs.") var runs = 3
    @Option(help: "What is killed: node (Patroni and PostgreSQL: a failover) or postmaster (Patroni restarts it).") var kill: Crash = .node
    @Option(help: "Port of the server on 127.0.0.1.") var port = 18491

    struct Outcome {
        var unavailable: Duration
        var writes = 0
        var writeErrors = 0
        var reads = 0
        var readErrors = 0
        var longestReadOutage: Duration = .zero
        var acknowledged = 0
        var lost = 0
        var doubled = 0
        var stop: Duration = .zero
        /// From the kill to every acknowledged point confirmed flushed (the server's backlog 0).
        var allFlushed: Duration = .zero
        var newLeader = ""
    }

    func run() async throws {
        var logger = Logger(label: "tessera.bench")
        logger.logLevel = .warning
        var outcomes = [Outcome]()
        for run in 1...max(1, self.runs) {
            print("Run \(run) of \(self.runs): tessera serve --ha, kill the leader's \(self.kill == .node ? "node" : "postmaster")...")
            let outcome = try await self.drill(run: run, logger: logger)
            print(
                "  writes unavailable \(outcome.unavailable.benchSeconds.formatted()) s; \(outcome.writeErrors)/\(outcome.writes) write errors, \(outcome.readErrors)/\(outcome.reads) read errors; lost \(outcome.lost), doubled \(outcome.doubled) of \(outcome.acknowledged); all flushed \(outcome.allFlushed.benchSeconds.formatted()) s after the kill; stopped in \(outcome.stop.benchSeconds.formatted()) s"
            )
            outcomes.append(outcome)
        }
        let median = outcomes.map(\.unavailable).sorted()[outcomes.count / 2]
        print(
            """

            | run | killed | writes unavailable | all flushed | write errors | read errors (longest outage) | acknowledged points | lost | doubled | new leader | SIGTERM to exit |
            |---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|
            """
        )
        for (index, outcome) in outcomes.enumerated() {
            print(
                "| \(index + 1) | \(self.kill.rawValue) | \(String(format: "%.1f", outcome.unavailable.benchSeconds)) s | \(String(format: "%.1f", outcome.allFlushed.benchSeconds)) s | \(outcome.writeErrors) of \(outcome.writes) | \(outcome.readErrors) of \(outcome.reads) (\(String(format: "%.1f", outcome.longestReadOutage.benchSeconds)) s) | \(outcome.acknowledged) | \(outcome.lost) | \(outcome.doubled) | \(outcome.newLeader) | \(String(format: "%.1f", outcome.stop.benchSeconds)) s |"
            )
        }
        print("\nMedian write unavailability: \(String(format: "%.1f", median.benchSeconds)) s")
    }

    /// Points sent, and what the clients were told.
    final class Ledger: Sendable {
        struct State: Sendable {
            var acknowledged: [String: Int64] = [:]
            /// When each point's write was answered, and whether it was `safe`.
            var answered: [String: (at: ContinuousClock.Instant, safe: Bool)] = [:]
            var acknowledgedAt: [ContinuousClock.Instant] = []
            var writes = 0
            var writeErrors = 0
            /// What the first failed writes were answered (status and body), for the report.
            var failures: [String] = []
            var reads: [(sentAt: ContinuousClock.Instant, answeredAt: ContinuousClock.Instant, ok: Bool)] = []
        }
        let state = Mutex(State())
        let stopped = Atomic(false)
    }

    private func drill(run: Int, logger: Logger) async throws -> Outcome {
        let directory = URL(fileURLWithPath: self.dir).standardizedFileURL.path
        LocalCluster.stopNow(directory: directory)
        try? FileManager.default.removeItem(atPath: directory)
        let token = "tadm_" + RandomToken.base62(length: 40)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tessera")
        server.arguments = ["serve", "--ha", "--dir", directory]
        var environment = ProcessInfo.processInfo.environment
        environment["TESSERA_PORT"] = String(self.port)
        environment["TESSERA_ADMIN_TOKEN"] = token
        environment["TESSERA_BACKUPS"] = "off"
        environment["TESSERA_LOG_LEVEL"] = environment["TESSERA_LOG_LEVEL"] ?? "warning"
        environment["TESSERA_ACCESS_LOG"] = "off"
        server.environment = environment
        let logFile = directory + ".serve-\(run).log"
        FileManager.default.createFile(atPath: logFile, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        server.standardOutput = log
        server.standardError = log
        try server.run()
        defer {
            if server.isRunning { server.terminate() }
            LocalCluster.stopNow(directory: directory)
            try? FileManager.default.removeItem(atPath: directory)
        }
        let base = "http://127.0.0.1:\(self.port)"
        let up = ContinuousClock.now + .seconds(240)
        while try await Self.call(.GET, base + "/healthz").status != .ok {
            guard server.isRunning, ContinuousClock.now < up else { throw ValidationError("tessera serve --ha did not come up; see \(logFile)") }
            try await Task.sleep(for: .milliseconds(500))
        }
        let created = try await Self.call(.POST, base + "/v1/tenants", key: token, json: #"{"name":"failover-bench"}"#)
        let tenant = try JSONSerialization.jsonObject(with: Data(created.body.readableBytesView)) as? [String: Any]
        guard let key = tenant?["api_key"] as? String, let tenantID = tenant?["id"] as? Int else { throw ValidationError("no tenant: \(created.status)") }
        _ = try await Self.call(.PUT, base + "/v1/attributes/v", key: key, json: #"{"type":"int","hot":true}"#)

        let cluster = LocalCluster(configuration: .init(directory: directory, ha: true), logger: logger)
        let leader = try cluster.status().primary?.name ?? "node-1"
        let ledger = Ledger()
        var outcome = Outcome(unavailable: .zero)
        let killedAt: ContinuousClock.Instant = try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<3 { group.addTask { await Self.write(writer, base: base, key: key, ledger: ledger) } }
            group.addTask { await Self.read(base: base, key: key, ledger: ledger) }
            try await Task.sleep(for: .seconds(5))
            let killedAt = ContinuousClock.now
            try cluster.crash(node: leader, self.kill == .node ? .node : .postmaster)
            let deadline = ContinuousClock.now + .seconds(90)
            while ContinuousClock.now < deadline {
                let after = ledger.state.withLock { $0.acknowledgedAt.filter { $0 > killedAt } }
                if let back = after.min(), after.count >= 60, ContinuousClock.now > back + .seconds(3) { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            ledger.stopped.store(true, ordering: .relaxed)
            try await group.waitForAll()
            return killedAt
        }
        // Every acknowledged point flushed (on whichever node leads now), then checked there.
        // A client of its own: the load's connections are not the observer's.
        let observer = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        let flushed = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < flushed {
            let metrics = try await Self.call(.GET, base + "/metrics", key: token, client: observer)
            let backlog = String(buffer: metrics.body).split(separator: "\n").first { $0.hasPrefix("tessera_ingest_staging_backlog_rows") }
            if metrics.status == .ok, let backlog, backlog.split(separator: " ").last.flatMap({ Double($0) }) == 0 { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        let state = ledger.state.withLock { $0 }
        outcome.allFlushed = ContinuousClock.now - killedAt
        try? await observer.shutdown()
        let acknowledgements = [killedAt] + state.acknowledgedAt.filter { $0 > killedAt }.sorted()
        outcome.unavailable = zip(acknowledgements, acknowledgements.dropFirst()).map { $1 - $0 }.max() ?? .zero
        outcome.writes = state.writes
        outcome.writeErrors = state.writeErrors
        for failure in state.failures { print("  a failed write: \(failure)") }
        outcome.reads = state.reads.count
        outcome.readErrors = state.reads.filter { !$0.ok }.count
        var outageStart: ContinuousClock.Instant?
        for read in state.reads.sorted(by: { $0.sentAt < $1.sentAt }) {
            if !read.ok {
                outageStart = outageStart ?? read.sentAt
            } else if let start = outageStart {
                outcome.longestReadOutage = max(outcome.longestReadOutage, read.answeredAt - start)
                outageStart = nil
            }
        }
        outcome.acknowledged = state.acknowledged.count
        let now = try cluster.status()
        outcome.newLeader = now.primary.map { "\($0.name) (was \(leader))" } ?? "none"
        if let primary = now.primary {
            let stored = try await PostgresClient.withRunning(url: try DatabaseURL(parsing: primary.url), logger: logger) { client in
                let rows = try await client.query(
                    """
                    SELECT e.external_key || '@' || (extract(epoch FROM v.ts) * 1000)::bigint, v.value_int
                      FROM entity_values_ts v JOIN entities e USING (tenant_id, entity_id) WHERE v.tenant_id = \(tenantID)
                    """,
                    logger: logger
                )
                var stored = [(String, Int64)]()
                for try await row in rows.decode((String, Int64).self) { stored.append(row) }
                return stored
            }
            let byPoint = [String: Int64](stored, uniquingKeysWith: { first, _ in first })
            if state.acknowledged.contains(where: { byPoint[$0.key] != $0.value }) {
                // What the new primary's sessions are doing while acknowledged points are missing.
                try await PostgresClient.withRunning(url: try DatabaseURL(parsing: primary.url), logger: logger) { client in
                    let rows = try await client.query(
                        """
                        SELECT coalesce(application_name, '') || ' ' || coalesce(state, '') || ' ' || coalesce(wait_event_type, '') || '/' || coalesce(wait_event, '')
                               || ' ' || left(coalesce(query, ''), 80)
                          FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
                        """,
                        logger: logger
                    )
                    for try await line in rows.decode(String.self) { print("  session: \(line)") }
                    let settings = try await client.query("SELECT current_setting('synchronous_standby_names')", logger: logger)
                    for try await line in settings.decode(String.self) { print("  synchronous_standby_names: '\(line)'") }
                }
            }
            outcome.doubled = stored.count - byPoint.count
            let lost = state.acknowledged.filter { byPoint[$0.key] != $0.value }
            outcome.lost = lost.count
            if !lost.isEmpty {
                let times = lost.keys.compactMap { state.answered[$0] }
                let offsets = times.map { ($0.at - killedAt).benchSeconds }
                print(
                    "  LOST \(lost.count) acknowledged points: answered \(String(format: "%.2f", offsets.min() ?? 0)) to \(String(format: "%.2f", offsets.max() ?? 0)) s after the kill, \(times.filter(\.safe).count) of them safe; e.g. \(lost.first!.key) stored as \(byPoint[lost.first!.key].map(String.init) ?? "nothing")"
                )
            }
        }
        let stopping = ContinuousClock.now
        server.terminate()
        while server.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        outcome.stop = ContinuousClock.now - stopping
        return outcome
    }

    static func call(
        _ method: HTTPMethod,
        _ url: String,
        key: String? = nil,
        json: String? = nil,
        client: HTTPClient = .shared
    ) async throws -> (status: HTTPResponseStatus, body: ByteBuffer) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        do {
            let response = try await client.execute(request, timeout: .seconds(60))
            return (response.status, try await response.body.collect(upTo: 1 << 20))
        } catch {
            return (.serviceUnavailable, ByteBuffer(string: "client: \(error)"))
        }
    }

    static func write(_ writer: Int, base: String, key: String, ledger: Ledger) async {
        let start = (Int64(Date().timeIntervalSince1970) - 3_600) * 1_000
        var sequence: Int64 = 0
        var request = 0
        while !ledger.stopped.load(ordering: .relaxed) {
            request += 1
            var batch = [(String, Int64)]()
            var body = [String]()
            for index in 0..<20 {
                sequence += 1
                let entity = "w\(writer)-e\(index % 5)"
                let value = Int64(writer) * 1_000_000_000 + sequence
                batch.append(("\(entity)@\(start + sequence)", value))
                body.append(#"{"entity":"\#(entity)","attribute":"v","value":\#(value),"ts":\#(start + sequence)}"#)
            }
            let response = try? await Self.call(
                .POST,
                base + "/v1/ingest?durability=\(request % 4 == 0 ? "safe" : "fast")",
                key: key,
                json: #"{"points":[\#(body.joined(separator: ","))]}"#
            )
            let accepted = response.flatMap { try? JSONSerialization.jsonObject(with: Data($0.body.readableBytesView)) as? [String: Any] }?["accepted"] as? Int
            let ok = response?.status == .ok && accepted == batch.count
            let answered = ContinuousClock.now
            ledger.state.withLock { state in
                state.writes += 1
                if ok {
                    for (point, value) in batch {
                        state.acknowledged[point] = value
                        state.answered[point] = (answered, request % 4 == 0)
                    }
                    state.acknowledgedAt.append(answered)
                } else {
                    state.writeErrors += 1
                    if state.failures.count < 3 {
                        state.failures.append(
                            "\(request % 4 == 0 ? "safe" : "fast"): \(response.map { "\($0.status.code) \(String(buffer: $0.body).prefix(160))" } ?? "no answer")"
                        )
                    }
                }
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    static func read(base: String, key: String, ledger: Ledger) async {
        var turn = 0
        while !ledger.stopped.load(ordering: .relaxed) {
            turn += 1
            let consistency = ["strong", "eventual", "analytics"][turn % 3]
            let sentAt = ContinuousClock.now
            let response = try? await Self.call(.GET, base + "/v1/entities/w0-e\(turn % 5)?consistency=\(consistency)", key: key)
            let ok = response?.status == .ok || response?.status == .notFound
            let call = (sentAt: sentAt, answeredAt: ContinuousClock.now, ok: ok)
            ledger.state.withLock { $0.reads.append(call) }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}
