import NIOCore
import PostgresNIO
import TesseraCore
import TesseraTestSupport
import Testing

@testable import TesseraStore

/// The staging write (`StagingLink`, `StagedPoints`): a batch's COPY text sent as one
/// `staged_point[]` parameter of an INSERT. It stages what COPY staged, refuses what COPY
/// refused, and — unlike PostgresNIO's COPY, which traps — survives its connection going away
/// at any moment: the write fails with an error, its batch is staged whole or not at all, and
/// the next write reconnects.
@Suite struct StagingWriteTests {
    @Test func aBatchIsStagedValueForValueEscapesAndNullsIncluded() async throws {
        let database = try await PipelineHarness.migratedDatabase()
        let at: Int64 = 1_767_225_600_000_000  // 2026-01-01T00:00:00Z
        let rows = [
            IngestRow(tenantID: 1, entityID: 10, attributeID: 3, value: .int(-9_223_372_036_854_775_807), timestamp: at),
            IngestRow(tenantID: 1, entityID: 10, attributeID: 4, value: .decimal(0.1 + 0.2), timestamp: at + 1),
            IngestRow(tenantID: 1, entityID: 10, attributeID: 5, value: .text("tab\there\nline\\slash\rcr é"), timestamp: at + 2),
            IngestRow(tenantID: 1, entityID: 11, attributeID: 6, value: .bool(false), timestamp: at - 1),
            IngestRow(tenantID: 2, entityID: 12, attributeID: 7, value: .timestamp(-86_400_000_000), timestamp: at),
            IngestRow(tenantID: 2, entityID: 12, attributeID: 8, value: .json(#"{"k": "a\tb\\n", "n": [1, 2.5]}"#), timestamp: at),
            IngestRow(tenantID: 2, entityID: 12, attributeID: 9, value: .text(""), timestamp: at),
        ]
        let link = try StagingLink(url: database, logger: quietLogger)
        try await link.stage(StagingEncoder.encode(rows, batchID: 77))
        await link.close()

        try await TestConnection.withConnection(database) { connection in
            let staged = try await connection.query(
                """
                SELECT tenant_id, entity_id, attribute_id, value_int, value_decimal, value_text, value_bool,
                       (extract(epoch FROM value_ts) * 1000000)::bigint, value_json::text,
                       (extract(epoch FROM ts) * 1000000)::bigint, batch_id, ingested_at > now() - interval '1 minute'
                  FROM entity_values_ingest ORDER BY tenant_id, entity_id, attribute_id
                """,
                logger: quietLogger
            )
            var read = [IngestRow]()
            for try await (tenant, entity, attribute, int, decimal, text, bool, time, json, ts, batch, recent) in staged.decode(
                (Int64, Int64, Int32, Int64?, Double?, String?, Bool?, Int64?, String?, Int64, Int64, Bool).self
            ) {
                #expect(batch == 77)
                #expect(recent, "a row without a staging time is staged now")
                let value: PointValue? =
                    if let int { .int(int) } else if let decimal { .decimal(decimal) } else if let text { .text(text) } else if let bool {
                        .bool(bool)
                    } else if let time { .timestamp(time) } else if let json { .json(json) } else { nil }
                read.append(IngestRow(tenantID: tenant, entityID: entity, attributeID: attribute, value: try #require(value), timestamp: ts))
            }
            // (The document is written as jsonb spells it.)
            #expect(read == rows)
        }
    }

    /// What the quarantine stages again: lines with their staging time after the batch id.
    @Test func aLineWithItsStagingTimeKeepsIt() async throws {
        let database = try await PipelineHarness.migratedDatabase()
        let link = try StagingLink(url: database, logger: quietLogger)
        try await link.stage(ByteBuffer(string: "5\t6\t7\t\\N\t1.5\t\\N\t\\N\t\\N\t\\N\t2026-02-03T04:05:06.000007Z\t88\t2025-12-31T23:59:59Z\n"))
        await link.close()
        try await TestConnection.withConnection(database) { connection in
            let staged = try await TestConnection.number(
                "SELECT count(*)::int FROM entity_values_ingest WHERE ingested_at = '2025-12-31T23:59:59Z' AND ts = '2026-02-03T04:05:06.000007Z' AND value_decimal = 1.5 AND batch_id = 88",
                on: connection
            )
            #expect(staged == 1)
        }
    }

    /// A value PostgreSQL's input function refuses fails the whole batch with that function's
    /// SQLSTATE (what sends a request's rows to quarantine), and stages none of it.
    @Test func aValueTheDatabaseRefusesFailsTheBatchWithItsSQLStateAndStagesNothing() async throws {
        let database = try await PipelineHarness.migratedDatabase()
        let link = try StagingLink(url: database, logger: quietLogger)
        let good = "1\t2\t3\t4\t\\N\t\\N\t\\N\t\\N\t\\N\t2026-01-01T00:00:00Z\t5\n"
        for (bad, state) in [
            ("1\t2\t3\t\\N\t\\N\t\\N\t\\N\t\\N\t{\"open\": \t2026-01-01T00:00:00Z\t5\n", "22P02"),
            ("1\t2\t3\t99999999999999999999\t\\N\t\\N\t\\N\t\\N\t\\N\t2026-01-01T00:00:00Z\t5\n", "22003"),
            ("1\t2\t3\t\\N\t\\N\tnul\u{0}byte\t\\N\t\\N\t\\N\t2026-01-01T00:00:00Z\t5\n", "22021"),
        ] {
            var failure: StagingLink.Failure?
            do {
                try await link.stage(ByteBuffer(string: good + bad))
            } catch let error as StagingLink.Failure {
                failure = error
            }
            #expect(failure.flatMap { DatabaseErrors.sqlState(of: $0.underlying) } == state, "\(bad.debugDescription)")
        }
        await link.close()
        try await TestConnection.withConnection(database) { connection in
            let staged = try await TestConnection.number("SELECT count(*)::int FROM entity_values_ingest", on: connection)
            #expect(staged == 0)
        }
    }

    static let rowsPerWrite = 2_000

    /// Interrupted at any moment — its backend terminated (a crash, a failover), its connection
    /// closed by our side (a shutdown), its task cancelled as well — a write ends with an error
    /// or success, stages all of its batch or none, and the process lives (PostgresNIO's COPY
    /// trapped here within a few dozen rounds).
    @Test func aWriteInterruptedAtAnyMomentFailsWithAnErrorAndStagesAllOrNothing() async throws {
        let database = try await PipelineHarness.migratedDatabase()
        // How long one write takes here (a debug build encodes slowly; the suite's load varies):
        // the interruptions are spread over twice the longest of three.
        let span: Duration = try await {
            let link = try StagingLink(url: database, logger: quietLogger)
            try await link.stage(ByteBuffer())
            var longest = Duration.zero
            for _ in 0..<3 {
                let started = ContinuousClock.now
                try await link.stage(Self.rows(batch: -1))
                longest = max(longest, ContinuousClock.now - started)
            }
            await link.close()
            return longest * 2
        }()
        try await TestConnection.withConnection(database) { admin in
            #expect(try await TestConnection.number("SELECT count(*)::int FROM entity_values_ingest WHERE batch_id = -1", on: admin) == 3 * Self.rowsPerWrite)
            var failed = 0
            var stored = 0
            var random = SystemRandomNumberGenerator()
            for round in 0..<120 {
                let link = try StagingLink(url: database, logger: quietLogger)
                // Connected first, so the interruption finds the write under way.
                try await link.stage(ByteBuffer())
                let pid = try #require(
                    try await TestConnection.number(
                        """
                        SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tessera/staging'
                         ORDER BY backend_start DESC LIMIT 1
                        """,
                        on: admin
                    )
                )
                let data = Self.rows(batch: round)
                let write = Task { try await link.stage(data) }
                // Anywhere from before the write starts to after it is done.
                try await Task.sleep(for: span * Double.random(in: 0..<1, using: &random))
                switch round % 3 {
                case 0: _ = try await TestConnection.number("SELECT pg_terminate_backend(\(pid))::int", on: admin)
                case 1: await link.close()
                default:
                    write.cancel()
                    await link.close()
                }
                let result = await write.result
                let rows = try #require(
                    try await TestConnection.number("SELECT count(*)::int FROM entity_values_ingest WHERE batch_id = \(round)", on: admin)
                )
                // A success can still be lost (its commit interrupted after the answer was sent;
                // synchronous_commit is off anyway): the replay log covers both.
                #expect(rows == 0 || rows == Self.rowsPerWrite, "round \(round): \(rows) rows of a batch staged")
                switch result {
                case .success: stored += 1
                case .failure: failed += 1
                }
                await link.close()
            }
            #expect(failed > 0, "no write was interrupted: the test shows nothing")
            #expect(stored > 0, "no write finished before its interruption")
        }
    }

    /// `rowsPerWrite` decimal points of batch `batch`, as COPY text.
    static func rows(batch: Int) -> ByteBuffer {
        let at: Int64 = 1_767_225_600_000_000
        let rows = (0..<Self.rowsPerWrite).map {
            IngestRow(tenantID: 1, entityID: Int64($0 % 50), attributeID: 1, value: .decimal(Double($0) * 0.5), timestamp: at + Int64($0))
        }
        return StagingEncoder.encode(rows, batchID: Int64(batch))
    }
}
