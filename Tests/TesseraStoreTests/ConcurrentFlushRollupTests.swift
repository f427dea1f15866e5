import Foundation
import PostgresNIO
import TesseraCore
import TesseraTestSupport
import Testing

@testable import TesseraStore

/// One point moved by two flushes at once — the flusher and a `safe` write of the same point, each
/// `flush_staged()` of its own batch — is stored once and counted once in its hour's rollup
/// (migration 0029). Before, the second flush asked the series whether the point was stored with
/// a snapshot taken before the first one committed, counted it as new, and the hour said 2 points.
@Suite struct ConcurrentFlushRollupTests {
    @Test func aPointFlushedByTwoSessionsAtOnceIsCountedOnceInItsHour() async throws {
        let (database, tenant) = try await Self.stagedTenant(
            "two-flushes",
            points: "(10.0::float8, date_trunc('hour', now()), 71), (20.0, date_trunc('hour', now()), 72)"
        )
        try await TestConnection.withConnection(database) { first in
            try await first.query("BEGIN", logger: quietLogger)
            let firstMoved = try await TestConnection.number("SELECT moved_rows::int FROM flush_staged(71, \(tenant.id))", on: first)
            #expect(firstMoved == 1)
            // The second flush stores the same point: it waits for the first one's row.
            let second = Task {
                var moved: Int?
                try await TestConnection.withConnection(database) { connection in
                    moved = try await TestConnection.number("SELECT moved_rows::int FROM flush_staged(72, \(tenant.id))", on: connection)
                }
                return moved
            }
            // Watched from a third session: a transaction sees pg_stat_activity as it first read it.
            var waiting = 0
            try await TestConnection.withConnection(database) { watcher in
                let deadline = ContinuousClock.now + .seconds(30)
                while waiting == 0, ContinuousClock.now < deadline {
                    waiting =
                        try await TestConnection.number(
                            "SELECT count(*)::int FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%flush_staged(72,%'",
                            on: watcher
                        ) ?? 0
                    if waiting == 0 { try await Task.sleep(for: .milliseconds(20)) }
                }
            }
            #expect(waiting == 1, "the second flush never waited for the first: the test shows nothing")
            try await first.query("COMMIT", logger: quietLogger)
            #expect(try await second.value == 1)

            let stored = try await TestConnection.number(
                "SELECT count(*)::int FROM entity_values_ts WHERE tenant_id = \(tenant.id) AND value_decimal = 20",
                on: first
            )
            #expect(stored == 1, "the point holds the second flush's value, once")
            let hours = try await Self.hours(of: tenant, on: first)
            #expect(hours.count == 1)
            #expect(hours.first?[0] == 1, "the hour counts the point once, not once a flush")
            #expect(hours.first?[1] == 20, "the hour's sum is the stored value's")
        }
    }

    /// An UPDATE of the series from anywhere — here an operator's correction that moves a point to
    /// the next hour with another value — leaves both hours' rollups as their points say.
    @Test func aCorrectionOfAStoredPointIsFollowedByTheRollupsOfBothHours() async throws {
        // Within the current month, whose partition a fresh database always has.
        let day = "date_trunc('month', now()) + interval '1 day'"
        let (database, tenant) = try await Self.stagedTenant(
            "corrected",
            points: "(1.0::float8, \(day) + interval '10 minutes', 81), (2.0, \(day) + interval '20 minutes', 81), (4.0, \(day) + interval '70 minutes', 81)"
        )
        try await TestConnection.withConnection(database) { connection in
            #expect(try await TestConnection.number("SELECT moved_rows::int FROM flush_staged(81, \(tenant.id))", on: connection) == 3)
            // The point at :20 was meant for the next hour, with another value.
            try await connection.query(
                """
                UPDATE entity_values_ts SET ts = ts + interval '1 hour', value_decimal = 8
                 WHERE tenant_id = \(tenant.id) AND value_decimal = 2
                """,
                logger: quietLogger
            )
            #expect(try await Self.hours(of: tenant, on: connection) == [[1, 1], [2, 12]], "first hour: 1; second: 4 + 8")
        }
    }

    /// A migrated database with one tenant, its decimal attribute `v` and its entity `dev-1`, and
    /// `points` staged for them: SQL `VALUES` rows of (value float8, ts timestamptz, batch id).
    private static func stagedTenant(_ name: String, points: String) async throws -> (DatabaseURL, Tenant) {
        let database = try await TestCluster.freshDatabase()
        try await withTestClient(url: database) { client in _ = try await Migrator(client: client, logger: quietLogger).migrate() }
        let tenant = try await withTestClient(url: database) { client in
            try await Catalog(client: client, logger: quietLogger).createTenant(name: name).0
        }
        try await TestConnection.withConnection(database) { connection in
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        WITH a AS (INSERT INTO attributes (tenant_id, name, value_type) VALUES (\(tenant.id), 'v', 'decimal') RETURNING attribute_id),
                             e AS (SELECT entity_id FROM create_entities(\(tenant.id), '{dev-1}'))
                        INSERT INTO entity_values_ingest (tenant_id, entity_id, attribute_id, value_decimal, ts, ingested_at, batch_id)
                        SELECT \(tenant.id), e.entity_id, a.attribute_id, v.value, v.ts, now(), v.batch
                          FROM a, e, (VALUES \(points)) AS v(value, ts, batch)
                        """
                ),
                logger: quietLogger
            )
        }
        return (database, tenant)
    }

    /// The tenant's hourly rollups in time order, each as [count, sum].
    private static func hours(of tenant: Tenant, on connection: PostgresConnection) async throws -> [[Double]] {
        let rows = try await connection.query(
            "SELECT count, sum::float8 FROM entity_values_hourly WHERE tenant_id = \(tenant.id) ORDER BY hour",
            logger: quietLogger
        )
        var hours = [[Double]]()
        for try await (count, sum) in rows.decode((Int64, Double).self) { hours.append([Double(count), sum]) }
        return hours
    }
}
