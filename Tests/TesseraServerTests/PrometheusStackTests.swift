import Foundation
import HummingbirdTesting
import TesseraServer
import TesseraTestSupport
import Testing

/// A real Prometheus, with the PostgreSQL, node and Redis exporters, started beside the
/// replicated test cluster by `startMonitoring` (as `tessera cluster up --monitoring`
/// starts them): it scrapes a test server, sees its ingest, a replica's lag and the
/// database's metrics, knows every metric the dashboards name, and puts the replica-lag
/// alert in pending once a replica stops.
@Suite(.serialized) struct PrometheusStackTests {
    /// The project's `ops` folder (alert rules, exporter queries, dashboards).
    static let projectDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .path

    @Test func prometheusSeesIngestLagAndTheDatabaseAndTheLagAlertGoesPendingWhenAReplicaStops() async throws {
        try await ReplicatedTestCluster.exclusively { topology in
            let reads = ServerDependencies.ReadTopology(
                replicas: topology.replicas,
                poolSize: 3,
                router: .init(breaker: .init(failureThreshold: 2, coolDown: .seconds(1)), leaseTimeout: .milliseconds(500))
            )
            let cache = CacheTests.settings(try await TestRedis.url())
            try await APITester.run(primary: topology.primary, readTopology: reads, cache: cache, overHTTP: true) { client, _ in
                let port = try #require(client.port)
                let status = try await topology.cluster.startMonitoring(
                    .init(servers: ["127.0.0.1:\(port)"], opsDirectory: Self.projectDirectory + "/ops", interval: .seconds(1))
                )
                var failure: (any Error)?
                do {
                    let prometheus = try #require(status.components.first { $0.name == "prometheus" && $0.running }, "\(status.text)")
                    try await Self.check(client: client, prometheus: "http://127.0.0.1:\(prometheus.port)", topology: topology)
                } catch {
                    failure = error
                }
                try await topology.cluster.stopMonitoring()
                // The replica back, caught up, for the other tests.
                try await topology.restoreReplicas()
                if let failure { throw failure }
            }
        }
    }

    static func check(client: any TestClientProtocol, prometheus: String, topology: ReplicatedTestCluster.Topology) async throws {
        let api = PrometheusAPI(base: prometheus)
        // Every job scraped, and up.
        try await Self.until("every target up") {
            let up = try api.query("up")
            return Set(up.map { $0.labels["job"] ?? "" }) == ["tessera", "postgres", "node", "redis"] && up.allSatisfy { $0.value == 1 }
        }
        // Ingest, as Prometheus counts it.
        let tenant = try await client.createTenant("prometheus")
        let points = (0..<5).map { #"{"entity":"p-\#($0)","attribute":"temp","value":\#($0)}"# }.joined(separator: ",")
        let written = try await client.send(.post, "/v1/ingest?durability=safe", key: tenant.key, json: #"{"points":[\#(points)]}"#)
        #expect(written.status == .ok, "\(written.text)")
        try await Self.until("the ingest counter at 5") {
            try api.query(#"sum(tessera_ingest_points_accepted_total{job="tessera"})"#).first?.value ?? 0 >= 5
        }
        // A replica's lag, from the server; the database, from the exporter.
        try await Self.until("replica-2's lag") { try !api.query(#"tessera_replica_lag_seconds{node="replica-2"}"#).isEmpty }
        #expect(try api.query(#"pg_up{job="postgres"}"#).first?.value == 1)
        #expect(try api.query(#"tessera_staging_rows{job="postgres"}"#).count == 1)
        #expect(try api.query(#"tessera_health_status{job="postgres",check="staging_age"}"#).first?.value == 0)
        #expect(try api.query(#"redis_up{job="redis"}"#).first?.value == 1)

        // Every metric the dashboards name is one Prometheus has.
        let known = NSTemporaryDirectory() + "tessera-known-metrics-\(getpid()).txt"
        defer { unlink(known) }
        try api.metricNames().joined(separator: "\n").write(toFile: known, atomically: true, encoding: .utf8)
        let check = try Self.run("/usr/bin/python3", [Self.projectDirectory + "/scripts/check-dashboards.py", "--known", known])
        #expect(check.status == 0, "check-dashboards: \(check.output)")

        // A replica stops: its lag grows, and the alert goes pending (then firing, after its minute).
        #expect(try api.alerts().filter { $0.name == "ReplicaLagHigh" }.isEmpty)
        try await topology.cluster.stop(component: "replica-2")
        try await Self.until("ReplicaLagHigh pending for replica-2", timeout: .seconds(60)) {
            try api.alerts().contains { $0.name == "ReplicaLagHigh" && $0.labels["node"] == "replica-2" && ["pending", "firing"].contains($0.state) }
        }
        #expect(try api.alerts().filter { $0.name == "ReplicaLagHigh" }.allSatisfy { $0.labels["node"] == "replica-2" })
    }

    static func until(_ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if (try? await condition()) == true { return }
            try await Task.sleep(for: .milliseconds(250))
        }
        Issue.record("timed out waiting for \(what)")
        throw CancellationError()
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: Self.projectDirectory)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// Prometheus' HTTP API, through curl.
struct PrometheusAPI {
    struct Sample {
        var labels: [String: String]
        var value: Double
    }

    struct Alert {
        var name: String
        var state: String
        var labels: [String: String]
    }

    var base: String

    func query(_ expression: String) throws -> [Sample] {
        let data = try self.get("/api/v1/query", ["query": expression])
        let result = ((data["data"] as? [String: Any])?["result"] as? [[String: Any]]) ?? []
        return result.map { row in
            let value = (row["value"] as? [Any])?.last as? String
            return Sample(labels: row["metric"] as? [String: String] ?? [:], value: value.flatMap(Double.init) ?? .nan)
        }
    }

    func alerts() throws -> [Alert] {
        let data = try self.get("/api/v1/alerts", [:])
        let alerts = ((data["data"] as? [String: Any])?["alerts"] as? [[String: Any]]) ?? []
        return alerts.map { alert in
            let labels = alert["labels"] as? [String: String] ?? [:]
            return Alert(name: labels["alertname"] ?? "", state: alert["state"] as? String ?? "", labels: labels)
        }
    }

    func metricNames() throws -> [String] {
        (try self.get("/api/v1/label/__name__/values", [:])["data"] as? [String]) ?? []
    }

    private func get(_ path: String, _ parameters: [String: String]) throws -> [String: Any] {
        var arguments = ["-sS", "--max-time", "10", "-G", self.base + path]
        for (name, value) in parameters { arguments += ["--data-urlencode", "\(name)=\(value)"] }
        let (status, output) = try PrometheusStackTests.run("/usr/bin/curl", arguments)
        guard status == 0, let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any] else {
            throw PrometheusAPIError(detail: "curl \(path): \(status) \(output.prefix(500))")
        }
        return object
    }
}

struct PrometheusAPIError: Error, CustomStringConvertible {
    var detail: String
    var description: String { self.detail }
}
