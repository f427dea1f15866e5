import Foundation
import PostgresNIO
import TesseraCore
import TesseraLocal
import TesseraRouting
import TesseraStore
import TesseraTestSupport
import Testing

/// The router over the real replicated test cluster (a primary and two streaming
/// replicas), with a pool per node as the server builds them and the lag monitor
/// driven by hand: each `tick()` is one round of measurements. The breakers run on
/// a `TestClock`, so a cool-down ends when the test says so. The heartbeat is written
/// for real, every 250 ms, and replicas replay in real time.
///
/// Each test has the cluster to itself (`exclusively`): they pause and stop its replicas.
@Suite(.serialized) struct ReadRouterTests {
    static let lagThreshold = 1_500.0
    static let coolDown = Duration.seconds(1)

    @Test func eachConsistencyGoesToItsNode() async throws {
        try await Self.withRouter(analytics: true) { nodes in
            for _ in 0..<20 {
                let strong = try await nodes.read(.strong)
                #expect(strong.source.source == "primary")
                #expect(strong.port == nodes.topology.primary.port)
                #expect(!strong.inRecovery)
                #expect(strong.source.lagMilliseconds == 0)

                let eventual = try await nodes.read(.eventual)
                #expect(eventual.source.source.hasPrefix("replica-"), "an eventual read went to \(eventual.source.source)")
                #expect(eventual.port == nodes.port(of: eventual.source.source))
                #expect(eventual.inRecovery)
                #expect(eventual.source.lagMilliseconds < Self.lagThreshold)

                let analytics = try await nodes.read(.analytics)
                #expect(analytics.source.source == "analytics")
                #expect(analytics.port == nodes.port(of: "analytics"))
            }
        }
    }

    @Test func withoutAnAnalyticsNodeAnalyticsReadsGoToAReplica() async throws {
        try await Self.withRouter(analytics: false) { nodes in
            for _ in 0..<10 {
                let analytics = try await nodes.read(.analytics)
                #expect(analytics.source.source.hasPrefix("replica-"), "an analytics read went to \(analytics.source.source)")
                #expect(analytics.port == nodes.port(of: analytics.source.source))
                #expect(analytics.source.consistency == .analytics)
            }
        }
    }

    @Test func aReplicaPausedPastTheLagThresholdGetsNoEventualReadsUntilItResumes() async throws {
        try await Self.withRouter { nodes in
            let router = nodes.router
            try await nodes.withReplayPaused(on: [0]) {
                try await nodes.tick(until: "replica-1 lags past the threshold") {
                    (nodes.lag("replica-1") ?? 0) >= Self.lagThreshold
                }
                #expect(router.candidates(for: .eventual).map(\.name) == ["replica-2", "primary"])
                for _ in 0..<20 {
                    let read = try await nodes.read(.eventual)
                    #expect(read.source.source == "replica-2")
                    #expect(read.port == nodes.port(of: "replica-2"))
                }
                // Both paused: eventual reads fall back to the primary.
                try await nodes.withReplayPaused(on: [1]) {
                    try await nodes.tick(until: "replica-2 lags past the threshold") {
                        (nodes.lag("replica-2") ?? 0) >= Self.lagThreshold
                    }
                    #expect(router.candidates(for: .eventual).map(\.name) == ["primary"])
                    let fallback = try await nodes.read(.eventual)
                    #expect(fallback.source.source == "primary")
                    #expect(fallback.port == nodes.topology.primary.port)
                }
            }
            // Resumed, replica-1 catches up and gets eventual reads again.
            try await nodes.tick(until: "replica-1 is under the threshold again") {
                (nodes.lag("replica-1") ?? .infinity) < Self.lagThreshold
            }
            #expect(router.candidates(for: .eventual).contains { $0.name == "replica-1" })
            try await nodes.tick(until: "an eventual read reaches replica-1") {
                (try? await nodes.read(.eventual))?.source.source == "replica-1"
            }
        }
    }

    @Test func aStoppedReplicaCostsNoErrorsAndItsBreakerOpensThenCloses() async throws {
        try await Self.withRouter { nodes in
            let router = nodes.router
            try await nodes.topology.cluster.stop(component: "replica-1")
            // Nothing below throws before `up()`: a failed read is counted, not thrown.
            var failures: [String] = []
            var reads = 0
            let deadline = ContinuousClock.now + .seconds(30)
            // Reads go on, and the monitor keeps looking at replica-1, until its breaker opens.
            while !router.isBreakerOpen("replica-1") || reads < 10, ContinuousClock.now < deadline {
                do {
                    let read = try await nodes.read(.eventual)
                    #expect(read.source.source != "replica-1")
                } catch {
                    failures.append(String(reflecting: error))
                }
                reads += 1
                await nodes.monitor.tick()
            }
            #expect(failures.isEmpty, "\(failures.count) of \(reads) reads failed while replica-1 was down: \(failures.prefix(3))")
            #expect(router.isBreakerOpen("replica-1"))
            #expect(!router.candidates(for: .eventual).contains { $0.name == "replica-1" })

            _ = try await nodes.topology.cluster.up()
            try await Self.until("replica-1 accepts connections") { await Self.accepts(nodes.topology.replicas[0]) }
            // Back, and more than the cool-down passed in real time, but not on the
            // breakers' clock: the breaker stays open, the monitor does not look, no read goes there.
            try await Task.sleep(for: Self.coolDown + .milliseconds(500))
            for _ in 0..<3 {
                await nodes.monitor.tick()
                #expect(router.isBreakerOpen("replica-1"))
                #expect(nodes.lag("replica-1") == nil)
                #expect(try await nodes.read(.eventual).source.source != "replica-1")
            }

            // Past the cool-down, the monitor's next look is the probe. Its pool may
            // still be backing off from the refused connects: then the probe fails and
            // the breaker opens for another cool-down, which the test ends again.
            try await nodes.tick(until: "a probe closes replica-1's breaker", timeout: .seconds(60), advancing: Self.coolDown) {
                !router.isBreakerOpen("replica-1")
            }
            #expect(nodes.lag("replica-1") != nil, "the probe measured replica-1")
            try await nodes.tick(until: "an eventual read reaches replica-1", timeout: .seconds(30)) {
                (try? await nodes.read(.eventual))?.source.source == "replica-1"
            }
        }
    }

    // MARK: - Helpers

    /// A router, its lag monitor and its clock over the replicated test cluster.
    struct Nodes: Sendable {
        var router: ReadRouter
        var monitor: LagMonitor
        var clock: TestClock
        var topology: ReplicatedTestCluster.Topology
        var analytics: DatabaseURL?

        /// What answered a read: the router's account, and the server's own.
        struct Answer: Sendable {
            var source: ReadSource
            var port: Int
            var inRecovery: Bool
        }

        func read(_ consistency: Consistency) async throws -> Answer {
            let served = try await self.router.read(consistency) { (connection: PostgresConnection) async throws -> (Int, Bool) in
                let rows = try await connection.query("SELECT current_setting('port')::int, pg_is_in_recovery()", logger: quietLogger)
                for try await (port, inRecovery) in rows.decode((Int, Bool).self) { return (port, inRecovery) }
                throw CancellationError()
            }
            return Answer(source: served.source, port: served.value.0, inRecovery: served.value.1)
        }

        func port(of node: String) -> Int? {
            switch node {
            case "primary": self.topology.primary.port
            case "replica-1": self.topology.replicas[0].port
            case "replica-2": self.topology.replicas[1].port
            case "analytics": self.analytics?.port
            default: nil
            }
        }

        func lag(_ node: String) -> Double? {
            self.router.views().first { $0.name == node }?.lagMilliseconds
        }

        /// Runs the monitor's rounds until `condition` holds, first moving the breakers'
        /// clock by `advancing` before each round.
        func tick(
            until what: String,
            timeout: Duration = .seconds(20),
            advancing: Duration = .zero,
            _ condition: () async throws -> Bool
        ) async throws {
            try await ReadRouterTests.until(what, timeout: timeout) {
                if advancing > .zero { self.clock.advance(by: advancing) }
                await self.monitor.tick()
                return try await condition()
            }
        }

        /// Runs `body` with WAL replay paused on the replicas at these indices; resumed however it ends.
        func withReplayPaused(on replicas: [Int], _ body: () async throws -> Void) async throws {
            for index in replicas { try await Self.setReplay(paused: true, on: self.topology.replicas[index]) }
            do {
                try await body()
            } catch {
                for index in replicas { try? await Self.setReplay(paused: false, on: self.topology.replicas[index]) }
                throw error
            }
            for index in replicas { try await Self.setReplay(paused: false, on: self.topology.replicas[index]) }
        }

        static func setReplay(paused: Bool, on url: DatabaseURL) async throws {
            _ = try await withTestClient(url: url) { client in
                try await client.query(paused ? "SELECT pg_wal_replay_pause()" : "SELECT pg_wal_replay_resume()")
            }
        }
    }

    /// Runs `body` with the cluster to itself and a router over its nodes, as the server
    /// builds it (a pool per node, "replica-N" in order, `analytics` on replica-2 when
    /// asked), once the monitor has measured every replica.
    static func withRouter(analytics: Bool = false, _ body: @Sendable (Nodes) async throws -> Void) async throws {
        try await ReplicatedTestCluster.exclusively { topology in
            let clock = TestClock()
            var nodes = [ReadNode(name: "primary", role: .primary, client: Self.pool(topology.primary))]
            for (index, url) in topology.replicas.enumerated() {
                nodes.append(ReadNode(name: "replica-\(index + 1)", role: .replica, client: Self.pool(url)))
            }
            let analyticsURL = analytics ? topology.replicas[1] : nil
            if let analyticsURL {
                nodes.append(ReadNode(name: "analytics", role: .analytics, client: Self.pool(analyticsURL)))
            }
            let router = ReadRouter(
                nodes: nodes,
                configuration: .init(
                    policy: .init(maxReplicaLagMilliseconds: Self.lagThreshold),
                    breaker: .init(failureThreshold: 3, coolDown: Self.coolDown),
                    leaseTimeout: .milliseconds(500)
                ),
                clock: clock.clock,
                logger: quietLogger
            )
            let monitor = LagMonitor(router: router, clock: clock.clock, logger: quietLogger)
            let heartbeat = HeartbeatWriter(primary: nodes[0].client, logger: quietLogger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for node in nodes {
                    group.addTask { await node.client.run() }
                }
                group.addTask { try await heartbeat.run() }
                defer { group.cancelAll() }
                let harness = Nodes(router: router, monitor: monitor, clock: clock, topology: topology, analytics: analyticsURL)
                try await harness.tick(until: "every replica is measured under the threshold") {
                    router.views().filter { $0.role == .replica }.allSatisfy { ($0.lagMilliseconds ?? .infinity) < Self.lagThreshold }
                }
                try await body(harness)
            }
        }
    }

    /// A node's read pool, as the server makes it.
    static func pool(_ url: DatabaseURL) -> PostgresClient {
        var configuration = PostgresClient.Configuration(url: url, maximumConnections: 3)
        configuration.options.connectTimeout = .seconds(2)
        return PostgresClient(configuration: configuration, backgroundLogger: quietLogger)
    }

    /// Whether a connection of its own can be made to `url` now.
    static func accepts(_ url: DatabaseURL) async -> Bool {
        let configuration = PostgresConnection.Configuration(
            host: url.host,
            port: url.port,
            username: url.username,
            password: url.password,
            database: url.database,
            tls: .disable
        )
        guard let connection = try? await PostgresConnection.connect(configuration: configuration, id: 1, logger: quietLogger) else {
            return false
        }
        try? await connection.close()
        return true
    }

    static func until(_ what: String, timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("timed out waiting until \(what)")
        throw CancellationError()
    }
}
