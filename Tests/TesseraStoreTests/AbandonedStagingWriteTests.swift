import Foundation
import PostgresNIO
import TesseraCore
import TesseraStore
import TesseraTestSupport
import Testing

/// A staging write the pipeline gave up on (past its deadline, or its connection lost) may
/// still be in PostgreSQL's hands and commit later. Its points were refused (`submit`
/// threw `unavailable`, a 503 over HTTP), so the client sends them again: stored from
/// both, they would be there twice. The pipeline settles the batch before it refuses:
/// acknowledged if it was committed, else fenced, and the flush drops a fenced batch's
/// rows whenever they commit.
///
/// Each test has a database of its own (the first changes the staging table there).
@Suite struct AbandonedStagingWriteTests {
    @Test func aRefusedPointIsNotStoredEvenWhenItsWriteCommitsLater() async throws {
        let database = try await PipelineHarness.migratedDatabase()
        // A stand-in for a write whose rows PostgreSQL holds but commits late: with this
        // index, the write waits for the test's open transaction, which staged the same key.
        try await withTestClient(url: database) { client in
            try await client.query("CREATE UNIQUE INDEX staging_test_key ON entity_values_ingest (tenant_id, entity_id, attribute_id, ts)", logger: quietLogger)
        }
        try await PipelineHarness.run(database: database, configuration: .init(writers: 1, callDeadline: .seconds(2))) { harness in
            let tenant = try await Self.tenantWithTempAndHum(harness, "abandoned")
            _ = try await harness.catalog.upsertEntity(key: "dev-1", type: nil, tenant: tenant)
            let pipeline = harness.pipeline

            try await TestConnection.withConnection(database) { blocker in
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
                let time = try #require(Timestamps.parseRFC3339("2026-01-01T00:00:00Z"))
                let rows = try await harness.rows([PipelineHarness.point("dev-1", "temp", 7, at: time)], tenant: tenant)
                let refused: TesseraError.Code?
                do throws(TesseraError) {
                    _ = try await pipeline.submit(rows, tenant: tenant.id)
                    refused = nil
                } catch {
                    refused = error.code
                }
                #expect(refused == .unavailable, "the point held up past the call deadline was not refused as unavailable")
                // The abandoned write goes on once the test's transaction ends, and commits: its
                // row is seen in staging while no flush runs.
                let holder = try await TestConnection.holdFlushes(database)
                try await blocker.query("ROLLBACK", logger: quietLogger)
                try await Self.waitForCommittedCopy(on: blocker)
                let late = try await TestConnection.number(
                    "SELECT count(*)::int FROM entity_values_ingest WHERE tenant_id = \(tenant.id) AND ts = timestamptz '2026-01-01 00:00:00+00'",
                    on: blocker
                )
                #expect(late == 1, "the abandoned write did not commit: the test shows nothing")
                try await holder.close()

                try await Self.flushAll(on: blocker)
                #expect(try await Self.storedTemp(tenant: tenant, on: blocker) == 0, "a refused point was stored")

                // The client's retry stores it, once.
                var retried: TesseraError?
                for attempt in 0..<6 {
                    if attempt > 0 { try await Task.sleep(for: .milliseconds(500)) }
                    do throws(TesseraError) {
                        _ = try await pipeline.submit(rows, tenant: tenant.id)
                        retried = nil
                        break
                    } catch {
                        retried = error
                    }
                }
                #expect(retried == nil, "the retry was refused: \(retried.map { "\($0.code): \($0.detail)" } ?? "")")
                try await harness.waitUntilFlushed()
                #expect(try await Self.storedTemp(tenant: tenant, on: blocker) == 1)
            }
        }
    }

    @Test func settlingABatchAcknowledgesWhatWasCommittedAndFencesTheRest() async throws {
        try await PipelineHarness.run(configuration: .init(writers: 1)) { harness in
            let tenant = try await Self.tenantWithTempAndHum(harness, "settle")
            let pipeline = harness.pipeline
            try await TestConnection.withConnection(harness.url) { connection in
                try await harness.submit([PipelineHarness.point("dev-1", "temp", 3)], tenant: tenant)
                try await harness.waitUntilFlushed()
                let flushed = try #require(try await TestConnection.number("SELECT max(batch_id)::int FROM ingest_flushed_batches", on: connection))
                #expect(try await pipeline.settle(batchIDs: [Int64(flushed)]), "a flushed batch counts as not committed")

                // A batch committed to staging (by hand here) is acknowledged, and stored.
                try await Self.stage(tenant: tenant, batch: 900_000_001, on: connection)
                #expect(try await pipeline.settle(batchIDs: [900_000_001]), "a staged batch counts as not committed")
                // A batch nobody committed is fenced: its rows, committed afterwards, are dropped.
                #expect(try await pipeline.settle(batchIDs: [900_000_002]) == false, "a batch nobody staged counts as committed")
                try await Self.stage(tenant: tenant, batch: 900_000_002, on: connection)
                // A group's write is a batch a tenant, committed together: one of them staged
                // says all were; none staged fences every one of them.
                try await Self.stage(tenant: tenant, batch: 900_000_003, on: connection)
                #expect(try await pipeline.settle(batchIDs: [900_000_004, 900_000_003]), "a group with a staged batch counts as not committed")
                #expect(try await pipeline.settle(batchIDs: [900_000_005, 900_000_006]) == false, "a group nobody staged counts as committed")
                for batch in [900_000_005, 900_000_006] { try await Self.stage(tenant: tenant, batch: batch, on: connection) }
                try await Self.flushAll(on: connection)
                #expect(try await Self.storedTemp(tenant: tenant, on: connection) == 3, "a fenced batch was stored, or a staged one not")
                #expect(
                    try await TestConnection.number(
                        "SELECT count(*)::int FROM ingest_fenced_batches WHERE batch_id IN (900000002, 900000005, 900000006)",
                        on: connection
                    ) == 3
                )
            }
        }
    }

    /// A new tenant with two hot decimal attributes, `temp` and `hum`.
    static func tenantWithTempAndHum(_ harness: PipelineHarness, _ prefix: String) async throws -> Tenant {
        try await harness.tenant(prefix, attributes: ["temp", "hum"].map { AttributeDefinition(name: $0, type: .decimal, hot: true) })
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

    /// Waits until no staging write runs in this database: the one held back has finished.
    static func waitForCommittedCopy(on connection: PostgresConnection) async throws {
        for _ in 0..<200 {
            let running = try await TestConnection.number(
                "SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE 'INSERT INTO entity_values_ingest %'",
                on: connection
            )
            if running == 0 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("a staging write still runs")
    }

    /// `temp` points of the tenant in the time series.
    static func storedTemp(tenant: Tenant, on connection: PostgresConnection) async throws -> Int? {
        try await TestConnection.number(
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
            _ = try await TestConnection.number("SELECT moved_rows::int FROM stage_flush()", on: connection)
            if try await TestConnection.number("SELECT count(*)::int FROM entity_values_ingest", on: connection) == 0 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the staging table did not empty")
    }
}
