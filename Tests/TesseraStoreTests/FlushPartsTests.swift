import PostgresNIO
import TesseraCore
import TesseraStore
import TesseraTestSupport
import Testing

/// The flush in parts (migration 0026): the flusher splits the staged tenants
/// (`staged_tenants()`, `FlushSplit`) and runs `stage_flush(tenants)` for each part at once;
/// concurrent flushes never move one tenant, and together the parts move everything once.
/// Each test has a database of its own, so no server's flusher touches its staging table.
@Suite struct FlushPartsTests {
    @Test func twoPartsAtOnceMoveDisjointTenantsAndTogetherEveryRowOnce() async throws {
        let database = try await PipelineHarness.migratedDatabase()
        let tenants = try await withTestClient(url: database) { try await Self.stage(rows: [600, 200, 200], on: $0) }

        let staged = try await withTestClient(url: database) { client in
            var staged = [FlushSplit.Staged]()
            let rows = try await client.query("SELECT tenant_id, staged_rows FROM staged_tenants()", logger: quietLogger)
            for try await (tenant, count) in rows.decode((Int64, Int64).self) { staged.append(.init(tenant: tenant, rows: count)) }
            return staged
        }
        #expect(staged.map(\.rows) == [600, 200, 200])
        let split = FlushSplit.parts(of: staged, into: 2)
        try #require(split.count == 2)
        async let first = Self.flush(split[0], database)
        async let second = Self.flush(split[1], database)
        let (part0, part1) = try await (first, second)

        #expect(Set(part0.tenants).isDisjoint(with: part1.tenants), "two parts moved one tenant: \(part0.tenants) and \(part1.tenants)")
        #expect(Set(part0.tenants + part1.tenants) == Set(tenants), "a staged tenant was left to the next flush")
        #expect(part0.moved + part1.moved == 1_000)
        // Split by staged rows: the 600-row tenant alone, the two 200-row ones together.
        #expect(Set([part0.moved, part1.moved]) == [600, 400], "the parts moved \(part0.moved) and \(part1.moved) rows")

        let counts = try await withTestClient(url: database) { client in
            var counts = [try await Self.number("SELECT count(*)::int FROM entity_values_ingest", client)]
            for tenant in tenants {
                counts.append(try await Self.number("SELECT count(*)::int FROM entity_values_ts WHERE tenant_id = \(tenant)", client))
                counts.append(try await Self.number("SELECT count(*)::int FROM entity_jsonb WHERE tenant_id = \(tenant)", client))
                counts.append(try await Self.number("SELECT sum(count)::int FROM entity_values_hourly WHERE tenant_id = \(tenant)", client))
            }
            counts.append(try await Self.number("SELECT count(*)::int FROM ingest_flushed_batches WHERE batch_id BETWEEN 900001 AND 900003", client))
            return counts
        }
        // Nothing left staged; each tenant's rows stored, its projection row, its hourly
        // rollups counting every row; the three batches recorded as flushed.
        #expect(counts == [0, 600, 1, 600, 200, 1, 200, 200, 1, 200, 3])
    }

    @Test func aTenantAnotherFlushIsMovingIsLeftToIt() async throws {
        let database = try await PipelineHarness.migratedDatabase()
        let tenants = try await withTestClient(url: database) { try await Self.stage(rows: [100, 50], on: $0) }

        try await TestConnection.withConnection(database) { other in
            // Another flush holds the first tenant.
            try await other.query("BEGIN", logger: quietLogger)
            try await other.query("SELECT pg_advisory_xact_lock(\(AdvisoryLock.flushTenant), \(Int32(tenants[0])))", logger: quietLogger)
            let whole = try await Self.flush(nil, database)
            #expect(whole.tenants == [tenants[1]])
            #expect(whole.moved == 50)
            // With every tenant of the part held, the part did not run (moved_rows -1).
            let alone = try await Self.flush([tenants[0]], database)
            #expect(alone.ran == false, "a flush ran while another held the only staged tenant")
            let left = try await withTestClient(url: database) { client in
                try await Self.number("SELECT count(*)::int FROM entity_values_ingest WHERE tenant_id = \(tenants[0])", client)
            }
            #expect(left == 100)
            try await other.query("ROLLBACK", logger: quietLogger)
        }
        let after = try await Self.flush(nil, database)
        #expect(after.tenants == [tenants[0]])
        #expect(after.moved == 100)
    }

    @Test func noPartRunsWhileABatchIsBeingSettled() async throws {
        let database = try await PipelineHarness.migratedDatabase()
        let tenants = try await withTestClient(url: database) { try await Self.stage(rows: [30, 20], on: $0) }
        // settle_staged_batch() takes the flush lock exclusively: every part waits for it.
        let holder = try await TestConnection.holdFlushes(database)
        do {
            for part in [[tenants[0]], [tenants[1]], nil] {
                let held = try await Self.flush(part, database)
                #expect(held.ran == false && held.moved == 0, "a flush of \(part.map(String.init(describing:)) ?? "every tenant") ran under the settle lock")
            }
        } catch {
            try? await holder.close()
            throw error
        }
        try await holder.close()
        // Then the parts run at once, as the flusher runs them, and move everything.
        async let first = Self.flush([tenants[0]], database)
        async let second = Self.flush([tenants[1]], database)
        let (part0, part1) = try await (first, second)
        #expect(part0.moved + part1.moved == 50)
    }

    @Test func aFlushOfTenantsWithNothingStagedMovesNothing() async throws {
        let database = try await PipelineHarness.migratedDatabase()
        let tenants = try await withTestClient(url: database) { try await Self.stage(rows: [10], on: $0) }
        let other = try await Self.flush([tenants[0] + 1_000], database)
        #expect(other.ran && other.moved == 0)
        let staged = try await Self.flush([tenants[0]], database)
        #expect(staged.moved == 10)
    }

    /// The split: largest first, each to the lighter part; never empty parts.
    @Test func theSplitBalancesStagedRowsAndPlacesEveryTenantOnce() {
        let fleet: [FlushSplit.Staged] = [.init(tenant: 1, rows: 400)] + (2...100).map { .init(tenant: Int64($0), rows: 6) }
        let two = FlushSplit.parts(of: fleet, into: 2)
        #expect(two.count == 2)
        #expect(Set(two.flatMap { $0 }) == Set(fleet.map(\.tenant)) && two.flatMap { $0 }.count == fleet.count)
        let loads = two.map { part in part.reduce(Int64(0)) { sum, tenant in sum + (fleet.first { $0.tenant == tenant }?.rows ?? 0) } }
        #expect(loads.sorted() == [496, 498])
        #expect(FlushSplit.parts(of: [.init(tenant: 7, rows: 5)], into: 4) == [[7]])
        #expect(FlushSplit.parts(of: [], into: 2).isEmpty)
        #expect(FlushSplit.parts(of: fleet, into: 1) == [fleet.map(\.tenant)])
    }

    // MARK: - Helpers

    struct Moved: Sendable {
        var moved: Int64 = 0
        var tenants: [Int64] = []
        var ran = false
    }

    /// A flush of these tenants (nil: every staged one) on a connection of its own, as the
    /// flusher's sessions run it.
    static func flush(_ tenants: [Int64]?, _ database: DatabaseURL) async throws -> Moved {
        try await withTestClient(url: database) { client in
            var moved = Moved()
            let query: PostgresQuery =
                if let tenants { "SELECT moved_rows, moved_tenants FROM stage_flush(\(tenants)::bigint[])" } else {
                    "SELECT moved_rows, moved_tenants FROM stage_flush(NULL)"
                }
            let rows = try await client.query(query, logger: quietLogger)
            for try await (count, tenants) in rows.decode((Int64, [Int64]).self) {
                moved.moved += max(0, count)
                moved.tenants += tenants
                moved.ran = moved.ran || count >= 0
            }
            moved.tenants.sort()
            return moved
        }
    }

    /// Tenants with one entity and one decimal attribute each, and `rows` staged points of
    /// each (one batch a tenant, ids 900001...), as a superuser; their ids in order.
    static func stage(rows: [Int], on client: PostgresClient) async throws -> [Int64] {
        try await client.query("SELECT ensure_ts_partitions((now() - interval '1 day')::date, 2)", logger: quietLogger)
        var tenants = [Int64]()
        for (index, count) in rows.enumerated() {
            let name = "parts-\(index)"
            let made = try await client.query(
                """
                WITH t AS (INSERT INTO tenants (name) VALUES (\(name)) RETURNING tenant_id),
                     a AS (INSERT INTO attributes (tenant_id, name, value_type, hot) SELECT tenant_id, 'temp', 'decimal', true FROM t RETURNING tenant_id),
                     e AS (INSERT INTO entities (tenant_id, external_key) SELECT tenant_id, 'dev-1' FROM t RETURNING tenant_id)
                SELECT tenant_id FROM t
                """,
                logger: quietLogger
            )
            for try await id in made.decode(Int64.self) { tenants.append(id) }
            let tenant = tenants[index]
            let batch = Int64(900_001 + index)
            try await client.query(
                """
                INSERT INTO entity_values_ingest (tenant_id, entity_id, attribute_id, value_decimal, ts, ingested_at, batch_id)
                SELECT e.tenant_id, e.entity_id, a.attribute_id, g::float8, date_trunc('hour', now()) - g * interval '1 second', now(), \(batch)
                  FROM entities AS e JOIN attributes AS a ON a.tenant_id = e.tenant_id, generate_series(1, \(count)) AS g
                 WHERE e.tenant_id = \(tenant)
                """,
                logger: quietLogger
            )
        }
        return tenants
    }

    static func number(_ sql: String, _ client: PostgresClient) async throws -> Int? {
        for try await value in try await client.query(PostgresQuery(unsafeSQL: sql), logger: quietLogger).decode(Int?.self) { return value }
        return nil
    }
}
