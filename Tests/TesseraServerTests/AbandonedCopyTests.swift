import Foundation
import PostgresNIO
import Testing
import TesseraCore
import TesseraServer
import TesseraStore
import TesseraTestSupport

/// A staging COPY the server gave up on (past its deadline, or its connection lost) may
/// still be in PostgreSQL's hands and commit later. Its points were answered with a 503,
/// so the client sends them again: stored from both, they would be there twice. The
/// server settles the batch before it answers: acknowledged if it was committed, else
/// fenced, and the flush drops a fenced batch's rows whenever they commit.
///
/// Each test has a database of its own (the first changes the staging table there).
@Suite struct AbandonedCopyTests {
    @Test func aPointAnsweredWith503IsNotStoredEvenWhenItsCopyCommitsLater() async throws {
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

            try await Self.withConnection(database) { blocker in
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
                // The abandoned COPY goes on once the test's transaction ends, and commits: its
                // row is seen in staging while no flush runs.
                let holder = try await CrashRecoveryTests.holdFlushes(database)
                try await blocker.query("ROLLBACK", logger: quietLogger)
                try await Self.waitForCommittedCopy(on: blocker)
                let late = try await Self.count(
                    "SELECT count(*)::int FROM entity_values_ingest WHERE tenant_id = \(tenant.id) AND ts = timestamptz '2026-01-01 00:00:00+00'", on: blocker
                )
                #expect(late == 1, "the abandoned COPY did not commit: the test shows nothing")
                try await holder.close()

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
            }
        }
    }

    @Test func settlingABatchAcknowledgesWhatWasCommittedAndFencesTheRest() async throws {
        let database = try await DeletedEntityWriteTests.migratedDatabase()
        try await APITester.run(ingest: .init(writers: 1), primary: database) { client, dependencies in
            let tenant = try await DeletedEntityWriteTests.tenantWithTempAndHum(client, "settle")
            let pipeline = dependencies.ingest.pipeline
            try await Self.withConnection(database) { connection in
                #expect(try await client.send(.post, "/v1/ingest", key: tenant.key, json: #"{"points":[{"entity":"dev-1","attribute":"temp","value":3}]}"#).status == .ok)
                try await DeletedEntityWriteTests.waitUntilFlushed(dependencies)
                let flushed = try #require(try await Self.count("SELECT max(batch_id)::int FROM ingest_flushed_batches", on: connection))
                #expect(try await pipeline.settle(batchID: Int64(flushed)), "a flushed batch counts as not committed")

                // A batch committed to staging (by hand here) is acknowledged, and stored.
                try await Self.stage(tenant: tenant, batch: 900_000_001, on: connection)
                #expect(try await pipeline.settle(batchID: 900_000_001), "a staged batch counts as not committed")
                // A batch nobody committed is fenced: its rows, committed afterwards, are dropped.
                #expect(try await pipeline.settle(batchID: 900_000_002) == false, "a batch nobody staged counts as committed")
                try await Self.stage(tenant: tenant, batch: 900_000_002, on: connection)
                try await Self.flushAll(on: connection)
                #expect(try await Self.storedTemp(tenant: tenant, on: connection) == 2, "the fenced batch was stored, or the staged one not")
            }
        }
    }

    /// Stages one `temp` point of dev-1, an hour old, under `batch`.
    static func stage(tenant: Tenant, batch: Int, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO entity_values_ingest (tenant_id, entity_id, attribute_id, value_decimal, ts, batch_id)
            SELECT e.tenant_id, e.entity_id, a.attribute_id, 5, now() - interval '1 hour' + \(batch % 1000) * interval '1 second', \(batch)
              FROM entities e JOIN attributes a ON a.tenant_id = e.tenant_id AND a.name = 'temp'
             WHERE e.tenant_id = \(tenant.id) AND e.external_key = 'dev-1'
            """,
            logger: quietLogger
        )
    }

    /// Waits until no COPY runs in this database: the one held back has finished.
    static func waitForCommittedCopy(on connection: PostgresConnection) async throws {
        for _ in 0..<200 {
            let running = try await self.count(
                "SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE 'COPY %'",
                on: connection
            )
            if running == 0 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("a COPY still runs")
    }

    /// Runs `body` on a connection of its own, closed however `body` ends.
    static func withConnection(_ url: DatabaseURL, _ body: (PostgresConnection) async throws -> Void) async throws {
        let configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: .disable
        )
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 2, logger: quietLogger)
        do {
            try await body(connection)
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
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
