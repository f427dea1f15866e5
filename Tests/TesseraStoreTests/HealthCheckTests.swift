import Foundation
import Logging
import PostgresNIO
import TesseraCore
import TesseraStore
import TesseraTestSupport
import Testing

/// `health_check()` covers every alarm: each check is driven past its threshold on a
/// database of its own and reads warn or fail, and a fresh database reads ok throughout.
/// Transaction-ID age, connection saturation and the staging backlog are not driven to their
/// defaults on a test cluster (two billion transactions, hundreds of connections, a million
/// staged rows): their thresholds are lowered with the settings an operator tunes them with,
/// and the real values drive them past.
@Suite struct HealthCheckTests {
    static func migrated() async throws -> DatabaseURL {
        let database = try await TestCluster.freshDatabase()
        try await withTestClient(url: database) { client in _ = try await Migrator(client: client, logger: quietLogger).migrate() }
        return database
    }

    /// The checks, by name, read on one connection after `setup` ran on it.
    struct Check: Sendable, CustomStringConvertible {
        var name: String
        var status: String
        var value: Double
        var detail: String
        var description: String { "\(self.name) \(self.status) \(self.value): \(self.detail)" }
    }

    static func checks(_ database: DatabaseURL, _ setup: String? = nil) async throws -> [String: Check] {
        var checks = [String: Check]()
        try await TestConnection.withConnection(database) { connection in
            if let setup { try await connection.query(PostgresQuery(unsafeSQL: setup), logger: quietLogger) }
            let rows = try await connection.query("SELECT check_name, status, value, detail FROM health_check()", logger: quietLogger)
            for try await (name, status, value, detail) in rows.decode((String, String, Double, String).self) {
                checks[name] = Check(name: name, status: status, value: value, detail: detail)
            }
        }
        return checks
    }

    static func run(_ database: DatabaseURL, _ sql: String) async throws {
        try await withTestClient(url: database) { client in try await client.query(PostgresQuery(unsafeSQL: sql)) }
    }

    @Test func aFreshDatabaseIsOkThroughout() async throws {
        // Connections are the whole test cluster's, which other tests' servers share: judged
        // against thresholds they cannot reach.
        let checks = try await Self.checks(
            try await Self.migrated(),
            "SELECT set_config('tessera.health_connections_warn', '2', false), set_config('tessera.health_connections_fail', '3', false)"
        )
        #expect(
            Set(checks.keys).isSuperset(of: [
                "staging_backlog", "staging_age", "flush_failures", "quarantine", "partitions_ahead", "bloat", "xid_age", "connections",
                "wal_archive", "partition_maintenance",
            ])
        )
        #expect(checks.keys.contains { $0.hasPrefix("replica_lag") })
        for check in checks.values { #expect(check.status == "ok", "\(check)") }
    }

    @Test func partitionMaintenanceThatStoppedWarnsThenFails() async throws {
        let database = try await Self.migrated()
        #expect(try await Self.checks(database)["partition_maintenance"]?.detail.hasPrefix("not run yet") == true)
        try await Self.run(database, "SELECT partition_maintenance(4)")
        let fresh = try await Self.checks(database)["partition_maintenance"]
        #expect(fresh?.status == "ok")
        #expect(fresh?.detail.contains("by tessera") == true, "\(String(describing: fresh))")
        try await Self.run(database, "UPDATE maintenance_runs SET ran_at = now() - interval '3 hours'")
        #expect(try await Self.checks(database)["partition_maintenance"]?.status == "warn")
        try await Self.run(database, "UPDATE maintenance_runs SET ran_at = now() - interval '2 days'")
        let stale = try await Self.checks(database)["partition_maintenance"]
        #expect(stale?.status == "fail")
        #expect((stale?.value ?? 0) > 172_000)
    }

    @Test func stagedPointsThatWaitWarnThenFailAndABacklogPastItsThresholdWarns() async throws {
        let database = try await Self.migrated()
        let stage = { (age: String) in
            """
            INSERT INTO entity_values_ingest (tenant_id, entity_id, attribute_id, value_int, ts, batch_id, ingested_at)
            VALUES (1, 1, 1, 1, now(), 1, now() - interval '\(age)')
            """
        }
        try await Self.run(database, stage("2 minutes"))
        #expect(try await Self.checks(database)["staging_age"]?.status == "warn")
        try await Self.run(database, stage("10 minutes"))
        let failing = try await Self.checks(database)["staging_age"]
        #expect(failing?.status == "fail")
        #expect((failing?.value ?? 0) >= 600)
        // A backlog past its threshold (a million rows by default; lowered here, as an operator
        // may, so the test does not stage a million rows).
        try await Self.run(
            database,
            """
            INSERT INTO entity_values_ingest (tenant_id, entity_id, attribute_id, value_int, ts, batch_id)
            SELECT 1, g, 1, g, now(), 2 FROM generate_series(1, 1000) AS g
            """
        )
        #expect(try await Self.checks(database)["staging_backlog"]?.status == "ok")
        let backlog = try await Self.checks(
            database,
            "SELECT set_config('tessera.health_staging_backlog_warn', '500', false), set_config('tessera.health_staging_backlog_fail', '5000', false)"
        )["staging_backlog"]
        #expect(backlog?.status == "warn")
        #expect(backlog?.value == 1_002)
    }

    @Test func flushFailuresWarnThenFailAndASuccessClearsThem() async throws {
        let database = try await Self.migrated()
        try await Self.run(database, "SELECT record_flush_outcome(true, '53100 could not extend file')")
        let warned = try await Self.checks(database)["flush_failures"]
        #expect(warned?.status == "warn")
        #expect(warned?.detail.contains("could not extend file") == true)
        for _ in 0..<9 { try await Self.run(database, "SELECT record_flush_outcome(true, 'again')") }
        #expect(try await Self.checks(database)["flush_failures"]?.status == "fail")
        try await Self.run(database, "SELECT record_flush_outcome(false, NULL)")
        #expect(try await Self.checks(database)["flush_failures"]?.status == "ok")
    }

    @Test func missingMonthsAheadWarnThenFail() async throws {
        let database = try await Self.migrated()
        // Only this month left: one month ahead counts this one.
        try await Self.run(
            database,
            """
            DO $$ DECLARE p record; BEGIN
                FOR p IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                          WHERE i.inhparent = 'entity_values_ts'::regclass
                            AND c.relname > 'entity_values_ts_p' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMM') LOOP
                    EXECUTE format('DROP TABLE %I', p.relname);
                END LOOP;
            END $$
            """
        )
        #expect(try await Self.checks(database)["partitions_ahead"]?.status == "warn")
        try await Self.run(database, "DROP TABLE entity_values_ts_p" + Self.currentMonth())
        #expect(try await Self.checks(database)["partitions_ahead"]?.status == "fail")
    }

    @Test func deadTuplesWarnThenFail() async throws {
        let database = try await Self.migrated()
        try await Self.run(database, "CREATE TABLE bloat_probe (n integer) WITH (autovacuum_enabled = false)")
        try await Self.run(database, "INSERT INTO bloat_probe SELECT generate_series(1, 2000)")
        try await Self.run(database, "DELETE FROM bloat_probe WHERE n <= 600")
        let warned = try await Self.checks(database, "SELECT pg_stat_force_next_flush()")["bloat"]
        #expect(warned?.status == "warn", "\(String(describing: warned))")
        #expect(warned?.detail.contains("bloat_probe") == true)
        try await Self.run(database, "DELETE FROM bloat_probe WHERE n <= 1500")
        #expect(try await Self.checks(database, "SELECT pg_stat_force_next_flush()")["bloat"]?.status == "fail")
    }

    @Test func transactionIDAgeAndConnectionsPastTheirThresholdsWarnAndFail() async throws {
        let database = try await Self.migrated()
        let checks = try await Self.checks(
            database,
            """
            SELECT set_config('tessera.health_xid_age_warn', '0.0000001', false),
                   set_config('tessera.health_connections_warn', '0.0001', false),
                   set_config('tessera.health_connections_fail', '0.0002', false)
            """
        )
        #expect(checks["xid_age"]?.status == "warn", "\(String(describing: checks["xid_age"]))")
        #expect((checks["xid_age"]?.value ?? 0) > 0)
        #expect(checks["connections"]?.status == "fail", "\(String(describing: checks["connections"]))")
        #expect((checks["connections"]?.value ?? 0) > 0)
    }

    @Test func aStoppedReplicaFailsOnThePrimaryAndAStreamingOneIsOk() async throws {
        try await ReplicatedTestCluster.exclusively { topology in
            let before = try await Self.checks(topology.primary)
            #expect(before["replica_lag:replica-1"]?.status == "ok", "\(before.keys.sorted())")
            #expect(before["replica_lag:replica-2"]?.status == "ok")
            // On a replica: its own lag, and no staging (the UNLOGGED table is the primary's).
            let onReplica = try await Self.checks(topology.replicas[0])
            #expect(onReplica["replica_lag"]?.detail.contains("this node is a replica") == true, "\(onReplica.keys.sorted())")
            #expect(onReplica["staging_backlog"]?.status == "ok")
            try await topology.cluster.stop(component: "replica-2")
            // Its walsender goes with its connection; its slot stays, with nobody streaming.
            var stopped = try await Self.checks(topology.primary)
            let deadline = ContinuousClock.now + .seconds(15)
            while !stopped.values.contains(where: { $0.name.hasPrefix("replica_lag:") && $0.status == "fail" }), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                stopped = try await Self.checks(topology.primary)
            }
            try await topology.restoreReplicas()
            let failing = stopped.values.filter { $0.name.hasPrefix("replica_lag:") && $0.status == "fail" }
            #expect(failing.count == 1, "\(stopped.values.filter { $0.name.hasPrefix("replica_lag") })")
            #expect(failing.first?.detail.contains("no replica connected") == true)
            #expect(stopped["replica_lag:replica-1"]?.status == "ok")
        }
    }

    static func currentMonth() -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month], from: Date())
        return String(format: "%04d%02d", parts.year!, parts.month!)
    }
}
