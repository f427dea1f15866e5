import Foundation
import PostgresNIO
import Testing
import TesseraCore
import TesseraServer
import TesseraStore
import TesseraTestSupport

/// A staging COPY the server gave up on (past its deadline, or its connection lost) may
/// still be in PostgreSQL's hands and commit later. Its points were answered with a 503,
/// so the client sends them again: committed too, they would be stored twice. The
/// server therefore ends the COPY's backend and looks whether the batch was committed
/// before it answers.
///
/// Each test has a database of its own (they hold off flushes or change the staging
/// table there).
@Suite struct AbandonedCopyTests {
    @Test func aCopyPastItsDeadlineIsEndedSoThatA503MeansNothingWasStored() async throws {
        let database = try await DeletedEntityWriteTests.migratedDatabase()
        // A stand-in for a COPY whose rows PostgreSQL holds but commits late: with this
        // index, the COPY waits for the test's open transaction, which staged the same key.
        try await withTestClient(url: database) { client in
            try await client.query("CREATE UNIQUE INDEX staging_test_key ON entity_values_ingest (tenant_id, entity_id, attribute_id, ts)", logger: quietLogger)
        }
        try await APITester.run(ingest: .init(writers: 1, callDeadline: .seconds(2)), primary: database) { client, dependencies in
            let tenant = try await DeletedEntityWriteTests.tenantWithTempAndHum(client, "abandoned")
            let created = try await client.send(
                .post, "/v1/ingest?durability=safe", key: tenant.key, json: #"{"points":[{"entity":"dev-1","attribute":"hum","value":1}]}"#
            )
            #expect(created.status == .ok)

            let blocker = try await Self.connect(database)
            try await blocker.query("BEGIN", logger: quietLogger)
            try await blocker.query(
                """
                INSERT INTO entity_values_ingest (tenant_id, entity_id, attribute_id, ts, batch_id)
                SELECT e.tenant_id, e.entity_id, a.attribute_id, timestamptz '2026-01-01 00:00:00+00', -1
                  FROM entities e JOIN attributes a ON a.tenant_id = e.tenant_id AND a.name = 'temp'
                 WHERE e.tenant_id = \(tenant.id) AND e.external_key = 'dev-1'
                """,
                logger: quietLogger
            )
            let point = #"{"points":[{"entity":"dev-1","attribute":"temp","value":7,"ts":"2026-01-01T00:00:00Z"}]}"#
            let answer = try await client.send(.post, "/v1/ingest", key: tenant.key, json: point)
            #expect(answer.status == .serviceUnavailable, "\(answer.text)")
            // The abandoned COPY's backend was ended: nothing waits for the test's row now.
            #expect(try await Self.count("SELECT count(*)::int FROM pg_locks WHERE NOT granted", on: blocker) == 0)
            try await blocker.query("ROLLBACK", logger: quietLogger)

            // Whatever is staged now, moved: the point answered with a 503 was not stored.
            try await Self.flushAll(on: blocker)
            #expect(try await Self.storedTemp(tenant: tenant, on: blocker) == 0, "a point answered with a 503 was stored")

            // The client's retry stores it, once.
            var retried = try await client.send(.post, "/v1/ingest", key: tenant.key, json: point)
            for _ in 0..<5 where retried.status != .ok {
                try await Task.sleep(for: .milliseconds(500))
                retried = try await client.send(.post, "/v1/ingest", key: tenant.key, json: point)
            }
            #expect(retried.status == .ok, "\(retried.text)")
            try await DeletedEntityWriteTests.waitUntilFlushed(dependencies)
            #expect(try await Self.storedTemp(tenant: tenant, on: blocker) == 1)
            try await blocker.close()
        }
    }

    @Test func settlingAFailedCopyFindsItsBatchStagedOrFlushedAndEndsItsBackend() async throws {
        let database = try await DeletedEntityWriteTests.migratedDatabase()
        try await APITester.run(ingest: .init(writers: 1), primary: database) { client, dependencies in
            let tenant = try await DeletedEntityWriteTests.tenantWithTempAndHum(client, "settle")
            let holder = try await CrashRecoveryTests.holdFlushes(database)
            let staged = try await client.send(.post, "/v1/ingest", key: tenant.key, json: #"{"points":[{"entity":"dev-1","attribute":"temp","value":3}]}"#)
            #expect(staged.status == .ok)
            let batch = try #require(try await Self.count("SELECT min(batch_id)::int FROM entity_values_ingest", on: holder))
            let pid = try #require(try await Self.count(#"SELECT min(pid)::int FROM pg_stat_activity WHERE query LIKE 'COPY "entity_values_ingest"%'"#, on: holder))
            let pipeline = dependencies.ingest.pipeline

            #expect(try await pipeline.settle(batchID: Int64(batch), backendPID: Int32(pid)), "a staged batch counts as not committed")
            #expect(try await Self.count("SELECT count(*)::int FROM pg_stat_activity WHERE pid = \(pid)", on: holder) == 0, "the COPY's backend still runs")
            #expect(try await pipeline.settle(batchID: -7, backendPID: Int32(pid)) == false, "a batch nobody staged counts as committed")

            try await holder.close()
            try await DeletedEntityWriteTests.waitUntilFlushed(dependencies)
            #expect(try await pipeline.settle(batchID: Int64(batch), backendPID: Int32(pid)), "a flushed batch counts as not committed")
        }
    }

    static func connect(_ url: DatabaseURL) async throws -> PostgresConnection {
        let configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: .disable
        )
        return try await PostgresConnection.connect(configuration: configuration, id: 2, logger: quietLogger)
    }

    static func count(_ sql: String, on connection: PostgresConnection) async throws -> Int? {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: quietLogger)
        for try await value in rows.decode(Int?.self) { return value }
        return nil
    }

    /// `temp` points of the tenant in the time series.
    static func storedTemp(tenant: Tenant, on connection: PostgresConnection) async throws -> Int? {
        try await self.count(
            """
            SELECT count(*)::int FROM entity_values_ts t JOIN attributes a ON a.tenant_id = t.tenant_id AND a.attribute_id = t.attribute_id
             WHERE t.tenant_id = \(tenant.id) AND a.name = 'temp'
            """,
            on: connection
        )
    }

    /// Runs `stage_flush()` until the staging table is empty (another flush may hold its lock).
    static func flushAll(on connection: PostgresConnection) async throws {
        for _ in 0..<100 {
            _ = try await self.count("SELECT moved_rows::int FROM stage_flush()", on: connection)
            if try await self.count("SELECT count(*)::int FROM entity_values_ingest", on: connection) == 0 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the staging table did not empty")
    }
}
