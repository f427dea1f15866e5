import Foundation
import PostgresNIO
import TesseraCore
import TesseraTestSupport
import Testing

@testable import TesseraStore

/// Partition maintenance (migration 0023): pg_partman keeps the months ahead and drops whole
/// partitions past the longest tenant window, with Tessera's partition names; pg_cron runs it in
/// the database; without pg_cron one server stands in under a lease.
@Suite struct PartitionMaintenanceTests {
    /// What the local cluster does as superuser when pg_partman is installed (`PostgresServer`).
    static func installPartman(_ url: DatabaseURL) async throws {
        try await withTestClient(url: url) { client in
            for statement in [
                "CREATE SCHEMA IF NOT EXISTS partman", "CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman",
                "GRANT ALL ON SCHEMA partman TO tessera_owner", "GRANT ALL ON ALL TABLES IN SCHEMA partman TO tessera_owner",
                "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA partman TO tessera_owner",
                "GRANT EXECUTE ON ALL PROCEDURES IN SCHEMA partman TO tessera_owner",
            ] {
                try await client.query(PostgresQuery(unsafeSQL: statement), logger: quietLogger)
            }
        }
    }

    static func partitions(_ client: PostgresClient) async throws -> [String] {
        let rows = try await client.query(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'entity_values_ts'::regclass ORDER BY 1",
            logger: quietLogger
        )
        var names = [String]()
        for try await name in rows.decode(String.self) { names.append(name) }
        return names
    }

    static func one<T: PostgresDecodable>(_ client: PostgresClient, _ sql: String, as type: T.Type = T.self) async throws -> T? {
        let rows = try await client.query(PostgresQuery(unsafeSQL: sql), logger: quietLogger)
        for try await value in rows.decode(T.self) { return value }
        return nil
    }

    /// `entity_values_ts_pYYYYMM` of the month `offset` months from the current one (UTC).
    static func month(_ client: PostgresClient, _ offset: Int) async throws -> String {
        try #require(
            try await Self.one(
                client,
                "SELECT 'entity_values_ts_p' || to_char(date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => \(offset)), 'YYYYMM')",
                as: String.self
            )
        )
    }

    @Test func pgPartmanKeepsTheMonthsAheadAndDropsWholeMonthsPastTheLongestWindow() async throws {
        do { try await self.partmanScenario() } catch {
            Issue.record("\(String(reflecting: error))")
        }
    }

    func partmanScenario() async throws {
        let url = try await TestCluster.freshDatabase()
        try await Self.installPartman(url)
        try await withTestClient(url: url) { client in
            _ = try await Migrator(client: client, logger: quietLogger).migrate()
            let catalog = Catalog(client: client, logger: quietLogger)
            let (shorter, _) = try await catalog.createTenant(name: "keeps-2")
            let (longer, _) = try await catalog.createTenant(name: "keeps-3")
            try await client.query("UPDATE tenants SET retention_months = 2 WHERE tenant_id = \(shorter.id)", logger: quietLogger)
            try await client.query("UPDATE tenants SET retention_months = 3 WHERE tenant_id = \(longer.id)", logger: quietLogger)
            // Back-dated months, made on demand as a write to them would: Tessera's names are pg_partman's.
            for offset in [-5, -3, -2] {
                let made = try await Self.one(
                    client,
                    "SELECT ensure_ts_partitions((date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => \(offset)))::date, 1)",
                    as: Int.self
                )
                #expect(made == 1)
            }
            #expect(try await Self.partitions(client).contains(try await Self.month(client, -5)))

            #expect(try await Self.one(client, "SELECT partition_maintenance(6)", as: String.self) == "pg_partman")
            let after = try await Self.partitions(client)
            // The longest window is 3 months: the current month and the 2 before stay; older months go.
            #expect(!after.contains(try await Self.month(client, -5)))
            #expect(!after.contains(try await Self.month(client, -3)))
            #expect(after.contains(try await Self.month(client, -2)))
            #expect(after.contains(try await Self.month(client, 0)))
            // Six months made ahead.
            #expect(after.contains(try await Self.month(client, 6)))
            #expect(after.allSatisfy { $0.range(of: #"^entity_values_ts_p[0-9]{6}$"#, options: .regularExpression) != nil }, "\(after)")
            #expect(try await Self.one(client, "SELECT datetime_string FROM partman.part_config", as: String.self) == "YYYYMM")
            #expect(try await Self.one(client, "SELECT retention FROM partman.part_config", as: String.self) == "2 months")
            // pg_partman counts a back-dated month made by Tessera as one of its own.
            let listed = try await Self.one(
                client,
                "SELECT count(*)::int FROM partman.show_partitions('public.entity_values_ts') WHERE partition_tablename = '\(try await Self.month(client, -2))'",
                as: Int.self
            )
            #expect(listed == 1)

            // A tenant that keeps everything: pg_partman drops nothing more.
            try await client.query("UPDATE tenants SET retention_months = 0 WHERE tenant_id = \(longer.id)", logger: quietLogger)
            #expect(try await Self.one(client, "SELECT partition_maintenance(6)", as: String.self) == "pg_partman")
            #expect(try await Self.one(client, "SELECT coalesce(retention, 'none') FROM partman.part_config", as: String.self) == "none")
            #expect(try await Self.partitions(client).contains(try await Self.month(client, -2)))
            #expect(try await Self.one(client, "SELECT outcome FROM maintenance_runs WHERE job = 'partitions'", as: String.self) == "pg_partman")

            // A long read holds the table: the drop waits 200 ms at most and is left for the next run.
            try await client.query("UPDATE tenants SET retention_months = 3 WHERE tenant_id = \(longer.id)", logger: quietLogger)
            let old = try await Self.month(client, -4)
            _ = try await Self.one(
                client,
                "SELECT ensure_ts_partitions((date_trunc('month', now() AT TIME ZONE 'UTC') - interval '4 months')::date, 1)",
                as: Int.self
            )
            try await TestConnection.withConnection(url) { reader in
                try await reader.query("BEGIN", logger: quietLogger)
                try await reader.query("SELECT count(*) FROM entity_values_ts", logger: quietLogger)
                let started = ContinuousClock.now
                let outcome = try await Self.one(client, "SELECT partition_maintenance(6)", as: String.self)
                #expect(outcome?.hasPrefix("pg_partman (a lock did not come") == true, "\(outcome ?? "nil")")
                #expect(ContinuousClock.now - started < .seconds(5))
                #expect(try await Self.partitions(client).contains(old))
                try await reader.query("ROLLBACK", logger: quietLogger)
            }
            #expect(try await Self.one(client, "SELECT partition_maintenance(6)", as: String.self) == "pg_partman")
            #expect(!(try await Self.partitions(client).contains(old)))
        }
    }

    @Test func pgCronRunsTheMaintenanceInTheDatabase() async throws {
        let shared = try await TestCluster.primaryURL()
        let installed = try await withTestClient(url: shared) { client in
            try await Self.one(client, "SELECT count(*)::int FROM pg_extension WHERE extname = 'pg_cron'", as: Int.self)
        }
        guard installed == 1 else {
            Issue.record("pg_cron is not installed in the test cluster (scripts/install-deps.sh installs postgresql-15-cron)")
            return
        }
        let url = try await TestCluster.freshDatabase()
        try await withTestClient(url: url) { client in _ = try await Migrator(client: client, logger: quietLogger).migrate() }
        // The local cluster's own job is hourly; this one runs every minute, in the test's database.
        let job = "tessera-test-" + url.database
        try await withTestClient(url: shared) { client in
            try await client.query(
                PostgresQuery(unsafeSQL: "SELECT cron.schedule_in_database('\(job)', '* * * * *', 'SELECT public.partition_maintenance()', '\(url.database)')"),
                logger: quietLogger
            )
        }
        defer {
            Task { try? await withTestClient(url: shared) { try await $0.query(PostgresQuery(unsafeSQL: "SELECT cron.unschedule('\(job)')")) } }
        }
        // Four minute marks at least: a job whose worker could not start is tried again at the next
        // (150 s, two or three marks, once saw no run at all in a full fresh-clone run on 2026-12-06;
        // a working scheduler answers at the first mark, so only a failure waits this long).
        // The helper's own limit past the loop's, so a late job ends in the message below, not a timeout.
        let ran = try await withTestClient(url: url, within: .seconds(300)) { client in
            let deadline = ContinuousClock.now + .seconds(270)
            while ContinuousClock.now < deadline {
                if let outcome = try await Self.one(client, "SELECT outcome FROM maintenance_runs WHERE job = 'partitions'", as: String.self) {
                    return outcome
                }
                try await Task.sleep(for: .seconds(1))
            }
            return "no run within 270 s"
        }
        // What pg_cron recorded of this job's runs, for the message when there was none.
        let recorded = try await withTestClient(url: shared) { client in
            try await Self.one(
                client,
                "SELECT coalesce(string_agg(d.status || ': ' || coalesce(d.return_message, ''), '; '), 'no run recorded') FROM cron.job_run_details d JOIN cron.job j USING (jobid) WHERE j.jobname = '\(job)'",
                as: String.self
            )
        }
        #expect(ran == "tessera", "pg_cron: \(recorded ?? "nil")")  // this database has no pg_partman: the months ahead by Tessera
        try await withTestClient(url: shared) { client in
            let runs = try await Self.one(
                client,
                "SELECT count(*)::int FROM cron.job_run_details d JOIN cron.job j USING (jobid) WHERE j.jobname = '\(job)' AND d.status = 'succeeded'",
                as: Int.self
            )
            #expect((runs ?? 0) >= 1)
        }
    }

    @Test func withoutPgCronOneServerStandsInUnderTheLease() async throws {
        let url = try await TestCluster.freshDatabase()
        try await withTestClient(url: url) { client in
            _ = try await Migrator(client: client, logger: quietLogger).migrate()
            let first = PartitionMaintainer(client: client, interval: .seconds(60), logger: quietLogger)
            let second = PartitionMaintainer(client: client, interval: .seconds(60), logger: quietLogger)
            // Nothing recorded: the first to ask runs it; then it is not due for anyone.
            #expect(try await first.runIfDue() == "tessera")
            #expect(try await second.runIfDue() == nil)
            #expect(try await first.runIfDue() == nil)
            // pg_cron stopped two hours ago: due again, but the lease is the first server's.
            try await client.query("UPDATE maintenance_runs SET ran_at = now() - interval '2 hours'", logger: quietLogger)
            #expect(try await second.runIfDue() == nil)
            #expect(try await first.runIfDue() == "tessera")
            // The first server went away (its lease lapsed): the second takes over.
            try await client.query("UPDATE maintenance_runs SET ran_at = now() - interval '2 hours'", logger: quietLogger)
            try await client.query("UPDATE maintenance_leases SET until = now() - interval '1 second' WHERE job = 'partitions'", logger: quietLogger)
            #expect(try await second.runIfDue() == "tessera")
            #expect(try await Self.partitions(client).contains(try await Self.month(client, 3)))
        }
    }
}
