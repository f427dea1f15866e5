import Foundation
import PostgresNIO
import TesseraCore
import TesseraTestSupport
import Testing

@testable import TesseraStore

/// Making a month's partition must not wait for the writes under way, nor hold up the
/// reads behind it (`CREATE TABLE … PARTITION OF` locks the whole series table).
@Suite struct PartitionCreationTests {
    @Test func aNewMonthIsAttachedWhileAWriteIsOpenAndReadsGoOn() async throws {
        // A database of its own: the test keeps a write open on the series table.
        let url = try await TestCluster.freshDatabase()
        try await withTestClient(url: url) { client in _ = try await Migrator(client: client, logger: quietLogger).migrate() }
        let configuration = PostgresConnection.Configuration(
            host: url.host,
            port: url.port,
            username: url.username,
            password: url.password,
            database: url.database,
            tls: .disable
        )
        let writer = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: quietLogger)
        let other = try await PostgresConnection.connect(configuration: configuration, id: 2, logger: quietLogger)
        do {
            try await Self.check(writer: writer, other: other)
        } catch {
            try? await writer.close()
            try? await other.close()
            throw error
        }
        try await writer.close()
        try await other.close()
    }

    static func check(writer: PostgresConnection, other: PostgresConnection) async throws {
        try await writer.query("BEGIN", logger: quietLogger)
        try await writer.query(
            "INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, value_int, ts) VALUES (1, 1, 1, 7, now())",
            logger: quietLogger
        )

        // Gives up after 3 s where the old CREATE TABLE … PARTITION OF waited for the write.
        try await other.query("SET lock_timeout = '3s'", logger: quietLogger)
        let made = try await Self.number("SELECT ensure_ts_partitions('2001-01-01', 1)", on: other)
        #expect(made == 1)
        // It has the series table's indexes, and takes and serves points while the write is open.
        #expect(try await Self.number("SELECT count(*)::int FROM pg_indexes WHERE tablename = 'entity_values_ts_p200101'", on: other) == 3)
        try await other.query(
            "INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, value_int, ts) VALUES (1, 1, 1, 9, '2001-01-15T00:00:00Z')",
            logger: quietLogger
        )
        #expect(try await Self.number("SELECT sum(value_int)::int FROM entity_values_ts WHERE tenant_id = 1", on: other) == 9)

        try await writer.query("COMMIT", logger: quietLogger)
        #expect(try await Self.number("SELECT sum(value_int)::int FROM entity_values_ts WHERE tenant_id = 1", on: other) == 16)
        // A point outside every partition is still refused.
        await #expect(throws: (any Error).self) {
            try await other.query(
                "INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, value_int, ts) VALUES (1, 1, 1, 1, '2001-02-15T00:00:00Z')",
                logger: quietLogger
            )
        }
    }

    static func number(_ sql: String, on connection: PostgresConnection) async throws -> Int? {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: quietLogger)
        for try await value in rows.decode(Int?.self) { return value }
        return nil
    }
}
