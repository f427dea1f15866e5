import Foundation
import PostgresNIO
import TesseraCore
import TesseraTestSupport
import Testing

@testable import TesseraLocal

/// `cluster up --ha`, for real: etcd and three PostgreSQL nodes under Patroni, synchronous mode;
/// the status names each node's Patroni role, timeline and postmaster; the planned moves hand
/// the primary over with the data; `down` stops every process it started.
@Suite struct HAClusterTests {
    static func nodes(_ status: ClusterStatus) -> [ClusterStatus.Component] {
        status.components.filter { $0.kind == "patroni" }
    }

    static func rows(_ status: ClusterStatus) async throws -> Int {
        let url = try DatabaseURL(parsing: try #require(status.primary).url)
        return try await withTestClient(url: url) { client in
            let rows = try await client.query("SELECT count(*)::int FROM ha_probe", logger: quietLogger)
            var count = 0
            for try await n in rows.decode(Int.self) { count = n }
            return count
        }
    }

    static func insert(_ status: ClusterStatus, _ value: Int) async throws {
        let url = try DatabaseURL(parsing: try #require(status.primary).url)
        try await withTestClient(url: url) { client in
            try await client.query("CREATE TABLE IF NOT EXISTS ha_probe (x int)", logger: quietLogger)
            try await client.query("INSERT INTO ha_probe VALUES (\(value))", logger: quietLogger)
        }
    }

    @Test func threeNodesUnderPatroniHandThePrimaryOverWithTheData() async throws {
        guard PatroniNode.locate() != nil, MonitoredProcess.locate("etcd") != nil else {
            Issue.record("patroni or etcd is not installed (scripts/install-deps.sh installs them)")
            return
        }
        let directory = NSTemporaryDirectory() + "tessera-ha-test-\(UUID().uuidString.prefix(8))"
        defer {
            LocalCluster.stopNow(directory: directory)
            if ProcessInfo.processInfo.environment["TESSERA_TEST_LOG"] == nil {
                try? FileManager.default.removeItem(atPath: directory)
            }
        }
        let cluster = LocalCluster(configuration: .init(directory: directory, profile: .test, redis: .off, ha: true), logger: quietLogger)
        let status = try await cluster.up()
        let nodes = Self.nodes(status)
        #expect(nodes.map(\.name) == ["node-1", "node-2", "node-3"])
        #expect(nodes.allSatisfy { $0.running && $0.pid != nil && $0.timeline == 1 }, "\(nodes)")
        #expect(Set(nodes.compactMap(\.patroniRole)) == ["leader", "sync_standby", "replica"], "\(nodes.map { $0.patroniRole ?? "?" })")
        #expect(status.components.filter { $0.role == "primary" }.map(\.patroniRole) == ["leader"])
        #expect(status.components.contains { $0.kind == "etcd" && $0.running })
        let leader = try #require(status.primary?.name)
        let standby = try #require(nodes.first { $0.patroniRole == "sync_standby" }?.name)
        try await Self.insert(status, 1)

        // Planned: to the synchronous standby, which has every committed row.
        let moved = try await cluster.switchover(to: nil)
        #expect(moved.primary?.name == standby)
        try await Self.insert(moved, 2)
        #expect(try await Self.rows(moved) == 2)

        // The old leader rejoins as a replica; a failover hands the primary on again.
        let deadline = ContinuousClock.now + .seconds(60)
        var settled = try cluster.status()
        while ContinuousClock.now < deadline,
            !(Self.nodes(settled).allSatisfy { $0.running } && Self.nodes(settled).contains { $0.patroniRole == "sync_standby" })
        {
            try await Task.sleep(for: .milliseconds(250))
            settled = try cluster.status()
        }
        #expect(Self.nodes(settled).first { $0.name == leader }?.patroniRole != "leader")
        let failedOver = try await cluster.failover(to: nil)
        #expect(failedOver.primary?.name != standby)
        let timeline = try cluster.status().primary?.timeline ?? 0
        #expect(timeline >= 2)
        try await Self.insert(failedOver, 3)
        #expect(try await Self.rows(failedOver) == 3)

        let down = try await cluster.down()
        #expect(down.components.allSatisfy { !$0.running }, "\(down.components.filter(\.running).map(\.name))")
    }
}
