import Foundation
import PostgresNIO
import TesseraCore
import TesseraTestSupport
import Testing

@testable import TesseraStore

/// A read with an open time bound (a series without `from`, the latest point of a
/// non-hot attribute) visits the months one at a time and stops when it has its
/// answer: it locks (so plans) a month or two, not every partition.
@Suite struct PartitionWalkTests {
    @Test func openBoundReadsTouchOnlyTheMonthsTheyNeed() async throws {
        let url = try await TestCluster.freshDatabase()
        try await withTestClient(url: url) { client in
            _ = try await Migrator(client: client, logger: quietLogger).migrate()
            // Two years of months, a point in the oldest and three in the newest.
            try await client.query("SELECT ensure_ts_partitions('2025-01-01', 24)")
            try await client.query(
                """
                INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, value_int, ts) VALUES
                    (1, 1, 1, 1, '2025-01-15Z'), (1, 1, 1, 2, '2026-12-01Z'), (1, 1, 1, 3, '2026-12-02Z'),
                    (1, 1, 2, 4, '2026-12-03Z'), (1, 1, 3, 5, '2025-06-01Z'),
                    (1, 1, 4, 6, '2025-09-10 00:00:00.000001Z'), (1, 1, 4, 7, '2025-09-11Z')
                """
            )
        }
        let configuration = PostgresConnection.Configuration(
            host: url.host,
            port: url.port,
            username: url.username,
            password: url.password,
            database: url.database,
            tls: .disable
        )
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: quietLogger)
        do {
            // The months after the newest point's (partitions made ahead of today) are
            // visited too, newest first: they are few and empty, and bounded whatever the history.
            var ahead = 0
            for try await count in try await connection.query(
                "SELECT count(*)::int FROM ts_partition_months() WHERE month > '2026-12-01'",
                logger: quietLogger
            ).decode(Int.self) { ahead = count }
            // Newest first, no bound: the newest month fills the page of 2.
            let newest = try await Self.withLockedPartitions(connection, "SELECT value_int FROM series_points(1, 1, 1, NULL, NULL, NULL, true, 2)")
            #expect(newest.values == [3, 2])
            #expect(newest.partitions <= ahead + 1, "partitions locked: \(newest.partitions), ahead: \(ahead)")
            // Oldest first, no bound: every point, in order, across the gap.
            let all = try await Self.withLockedPartitions(connection, "SELECT value_int FROM series_points(1, 1, 1, NULL, NULL, NULL, false, 10)")
            #expect(all.values == [1, 2, 3])
            // Continuing after a cursor skips the months before it.
            let after = try await Self.withLockedPartitions(connection, "SELECT value_int FROM series_points(1, 1, 1, NULL, NULL, '2026-12-01Z', false, 10)")
            #expect(after.values == [3])
            #expect(after.partitions <= ahead + 1, "partitions locked: \(after.partitions), ahead: \(ahead)")
            // The latest point of attributes 1 and 2 is in the newest month: no older month is read.
            let latest = try await Self.withLockedPartitions(connection, "SELECT value_int FROM latest_points(1, 1, ARRAY[1, 2]) ORDER BY attribute_id")
            #expect(latest.values == [3, 4])
            #expect(latest.partitions <= ahead + 1, "partitions locked: \(latest.partitions), ahead: \(ahead)")
            let older = try await Self.withLockedPartitions(connection, "SELECT value_int FROM latest_points(1, 1, ARRAY[3, 9])")
            #expect(older.values == [5])
            // What the plain query does: every month.
            let plain = try await Self.withLockedPartitions(
                connection,
                "SELECT value_int FROM entity_values_ts WHERE tenant_id = 1 AND entity_id = 1 AND attribute_id = 1 ORDER BY ts DESC LIMIT 2"
            )
            #expect(plain.partitions >= 24)

            // A series with both bounds binds them as typed times: only the month they reach is
            // planned (a text bound cast in the statement planned every partition), and the bounds
            // hold to the microsecond, from inclusive, to exclusive.
            func series(_ query: SeriesQuery, attribute: Int32 = 4) async throws -> (values: [Int], partitions: Int) {
                try await Self.withLockedPartitions(connection) { connection in
                    try await SeriesReads.points(query, entityID: 1, attributeID: attribute, tenantID: 1, on: connection, logger: quietLogger)
                        .points.map { Int($0.value.jsonText) ?? -1 }
                }
            }
            func bounded(_ from: String, _ to: String) async throws -> (values: [Int], partitions: Int) {
                try await series(SeriesQuery(fromMicros: Timestamps.parseRFC3339(from), toMicros: Timestamps.parseRFC3339(to)))
            }
            let september = try await bounded("2025-09-10T00:00:00.000001Z", "2025-09-11T00:00:00Z")
            #expect(september.values == [6])
            #expect(september.partitions == 1, "partitions locked: \(september.partitions)")
            #expect(try await bounded("2025-09-10T00:00:00.000002Z", "2025-09-11T00:00:00.000001Z").values == [7])
            #expect(try await bounded("2025-08-01T00:00:00Z", "2025-09-10T00:00:00.000001Z").values == [])

            // One bound: the bound's month first, planned alone; the walk only when it does not fill the page.
            // (A page of 1 fills with 2 points: the second says whether there are more.)
            let newestBefore = try await series(
                SeriesQuery(toMicros: Timestamps.parseRFC3339("2026-12-03T00:00:00Z"), limit: 1, descending: true),
                attribute: 1
            )
            #expect(newestBefore.values == [3])
            #expect(newestBefore.partitions == 1, "partitions locked: \(newestBefore.partitions)")
            let acrossTheGap = try await series(
                SeriesQuery(toMicros: Timestamps.parseRFC3339("2026-12-01T00:00:00Z"), limit: 1, descending: true),
                attribute: 1
            )
            #expect(acrossTheGap.values == [1])
            let oldestAfter = try await series(SeriesQuery(fromMicros: Timestamps.parseRFC3339("2026-12-01T00:00:00Z"), limit: 1), attribute: 1)
            #expect(oldestAfter.values == [2])
            #expect(oldestAfter.partitions == 1, "partitions locked: \(oldestAfter.partitions)")
            // The month's edge: a bound at a month's first instant reads the month before it first.
            #expect(
                try await series(SeriesQuery(toMicros: Timestamps.parseRFC3339("2025-09-11T00:00:00.000001Z"), limit: 2, descending: true)).values == [7, 6]
            )
            #expect(try await series(SeriesQuery(toMicros: Timestamps.parseRFC3339("2025-10-01T00:00:00Z"), limit: 1, descending: true)).values == [7])
            #expect(
                SeriesReads.boundMonth(SeriesQuery(toMicros: Timestamps.parseRFC3339("2025-10-01T00:00:00Z"), descending: true))?.from
                    == Timestamps.parseRFC3339("2025-09-01T00:00:00Z")
            )
            #expect(
                SeriesReads.boundMonth(SeriesQuery(fromMicros: Timestamps.parseRFC3339("2025-12-31T23:59:59Z")))?.to
                    == Timestamps.parseRFC3339("2026-01-01T00:00:00Z")
            )
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }

    /// Runs `sql` in a transaction: its values, and how many partitions it locked.
    static func withLockedPartitions(_ connection: PostgresConnection, _ sql: String) async throws -> (values: [Int], partitions: Int) {
        try await Self.withLockedPartitions(connection) { connection in
            var values = [Int]()
            for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: quietLogger).decode(Int.self) { values.append(value) }
            return values
        }
    }

    /// Runs `read` in a transaction: its values, and how many partitions it locked.
    static func withLockedPartitions(
        _ connection: PostgresConnection,
        _ read: (PostgresConnection) async throws -> [Int]
    ) async throws -> (values: [Int], partitions: Int) {
        try await connection.query("BEGIN", logger: quietLogger)
        let values = try await read(connection)
        var partitions = 0
        let locks = try await connection.query(
            """
            SELECT count(*)::int FROM pg_locks AS l JOIN pg_class AS c ON c.oid = l.relation
             WHERE l.pid = pg_backend_pid() AND c.relkind = 'r' AND c.relname LIKE 'entity\\_values\\_ts\\_p%'
            """,
            logger: quietLogger
        )
        for try await count in locks.decode(Int.self) { partitions = count }
        try await connection.query("COMMIT", logger: quietLogger)
        return (values, partitions)
    }
}
