import Foundation
import PostgresNIO
import TesseraCore
import TesseraTestSupport
import Testing

@testable import TesseraStore

/// A flush of everything staged turns the packs its points write into back into rows, then moves
/// the points: two statements, two snapshots, and staging writes take no lock. A batch committed
/// between the two, replacing a point of a pack the first one left alone, was inserted as a row
/// while its pack still held the old point: read twice, counted twice in its hour. Since
/// migration 0030 the move takes only the batches listed before the unpack; the late batch waits
/// for the next flush, which unpacks for it.
@Suite struct PackedFlushRaceTests {
    @Test func aBatchCommittedBetweenTheUnpackAndTheMoveIsStoredOnceByTheNextFlush() async throws {
        let database = try await TestCluster.freshDatabase()
        try await withTestClient(url: database) { client in _ = try await Migrator(client: client, logger: quietLogger).migrate() }
        let tenant = try await withTestClient(url: database) { client in
            try await Catalog(client: client, logger: quietLogger).createTenant(name: "packed-race").0
        }
        // Last month (a month before the current one can be packed), the 2nd at 10:00 UTC.
        let month = "(date_trunc('month', now() AT TIME ZONE 'UTC') - interval '1 month')::date"
        let at = "(\(month)::timestamp + interval '1 day 10 hours') AT TIME ZONE 'UTC'"
        try await TestConnection.withConnection(database) { connection in
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        WITH a AS (INSERT INTO attributes (tenant_id, name, value_type)
                                   VALUES (\(tenant.id), 'v', 'decimal'), (\(tenant.id), 'w', 'decimal') RETURNING attribute_id)
                        SELECT count(*) FROM a, create_entities(\(tenant.id), '{dev-1}')
                        """
                ),
                logger: quietLogger
            )
            _ = try await TestConnection.number("SELECT ensure_ts_partitions(\(month), 1)", on: connection)
            try await Self.stage(["v": 1, "w": 1], at: at, batch: 1, tenant: tenant, on: connection)
            #expect(try await TestConnection.number("SELECT moved_rows::int FROM flush_staged(1, \(tenant.id))", on: connection) == 2)
            #expect(try await TestConnection.number("SELECT pack_month(\(month), \(tenant.id))::int", on: connection) == 2)
            #expect(try await TestConnection.number("SELECT count(*)::int FROM entity_values_packed", on: connection) == 2, "one pack an attribute")
            // A late write of v, staged before the flush starts.
            try await Self.stage(["v": 2], at: at, batch: 2, tenant: tenant, on: connection)
        }

        try await TestConnection.withConnection(database) { locker in
            // Holds v's pack: the flush's unpack waits for it, its snapshot already taken.
            try await locker.query("BEGIN", logger: quietLogger)
            try await locker.query(
                """
                SELECT 1 FROM entity_values_packed AS p JOIN attributes AS a USING (tenant_id, attribute_id)
                 WHERE a.name = 'v' FOR UPDATE OF p
                """,
                logger: quietLogger
            )
            let flush = Task {
                var moved: Int?
                try await TestConnection.withConnection(database) { flusher in
                    moved = try await TestConnection.number("SELECT moved_rows::int FROM flush_staged(NULL, NULL)", on: flusher)
                }
                return moved
            }
            try await TestConnection.withConnection(database) { other in
                var waiting = 0
                let deadline = ContinuousClock.now + .seconds(30)
                while waiting == 0, ContinuousClock.now < deadline {
                    waiting =
                        try await TestConnection.number(
                            "SELECT count(*)::int FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%flush_staged(NULL, NULL)%'",
                            on: other
                        ) ?? 0
                    if waiting == 0 { try await Task.sleep(for: .milliseconds(20)) }
                }
                #expect(waiting == 1, "the flush never waited in its unpack: the test shows nothing")
                // A batch committed while the flush is between its two statements: a new value of
                // w, whose pack the unpack did not see a reason to open.
                try await Self.stage(["w": 5], at: at, batch: 3, tenant: tenant, on: other)
            }
            try await locker.query("COMMIT", logger: quietLogger)
            #expect(try await flush.value == 1, "the flush moved a batch its unpack had not seen")
        }

        try await TestConnection.withConnection(database) { connection in
            // The next flush stores the late batch.
            #expect(try await TestConnection.number("SELECT moved_rows::int FROM flush_staged(NULL, NULL)", on: connection) == 1)
            for (name, value) in [("v", 2), ("w", 5)] {
                let rows = try await TestConnection.number(
                    "SELECT count(*)::int FROM entity_values_ts JOIN attributes USING (tenant_id, attribute_id) WHERE name = '\(name)'",
                    on: connection
                )
                let packed = try await TestConnection.number(
                    "SELECT coalesce(sum(points), 0)::int FROM entity_values_packed JOIN attributes USING (tenant_id, attribute_id) WHERE name = '\(name)'",
                    on: connection
                )
                #expect((rows ?? 0) + (packed ?? 0) == 1, "\(name): the point is stored \(rows ?? 0) times as a row and \(packed ?? 0) in packs")
                let stored = try await TestConnection.number(
                    "SELECT value_decimal::int FROM entity_values_ts JOIN attributes USING (tenant_id, attribute_id) WHERE name = '\(name)'",
                    on: connection
                )
                #expect(stored == value, "\(name): the stored value is not the last one written")
                let hour = try await TestConnection.number(
                    "SELECT (count * 1000 + sum)::int FROM entity_values_hourly JOIN attributes USING (tenant_id, attribute_id) WHERE name = '\(name)'",
                    on: connection
                )
                #expect(hour == 1000 + value, "\(name): the hour counts \(hour.map { "\($0 / 1000) point(s) summing \($0 % 1000)" } ?? "nothing")")
            }
        }
    }

    /// Stages dev-1's points (attribute name: value) at `at` (SQL) as `batch`, committed.
    private static func stage(_ values: [String: Int], at: String, batch: Int, tenant: Tenant, on connection: PostgresConnection) async throws {
        let rows = values.map { "('\($0.key)', \($0.value)::float8)" }.joined(separator: ", ")
        try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    INSERT INTO entity_values_ingest (tenant_id, entity_id, attribute_id, value_decimal, ts, ingested_at, batch_id)
                    SELECT \(tenant.id), e.entity_id, a.attribute_id, v.value, \(at), clock_timestamp(), \(batch)
                      FROM (VALUES \(rows)) AS v(name, value)
                      JOIN attributes AS a ON a.tenant_id = \(tenant.id) AND a.name = v.name
                      JOIN entities AS e ON e.tenant_id = \(tenant.id) AND e.external_key = 'dev-1'
                    """
            ),
            logger: quietLogger
        )
    }
}
