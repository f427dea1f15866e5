import PostgresNIO
import TesseraCore
import TesseraStore
import TesseraTestSupport
import Testing

/// The flush in parts (migration 0038): the writers stage a batch a tenant; the flusher
/// lists the staged batches (`staged_batches()`), splits them by tenant (`FlushSplit`) and
/// runs `stage_flush_part(batches, tenants)` for each part at once. Concurrent parts never
/// move one tenant, each batch is moved and marked by one part, and together the parts move
/// everything once. Each test has a database of its own, so no server's flusher touches its
/// staging table.
@Suite struct FlushPartsTests {
    @Test func twoPartsAtOnceMoveDisjointTenantsAndTogetherEveryRowOnce() async throws {
        let database = try await PipelineHarness.migratedDatabase()
        let tenants = try await withTestClient(url: database) { try await Self.stage(rows: [600, 200, 200], on: $0) }

        let staged = try await Self.stagedBatches(database)
        #expect(staged.map(\.rows) == [600, 200, 200])
        let split = FlushSplit.parts(of: staged, into: 2)
        try #require(split.count == 2)
        async let first = Self.flush(split[0], database)
        async let second = Self.flush(split[1], database)
        let (part0, part1) = try await (first, second)

        #expect(Set(part0.tenants).isDisjoint(with: part1.tenants), "two parts moved one tenant: \(part0.tenants) and \(part1.tenants)")
        #expect(Set(part0.tenants + part1.tenants) == Set(tenants), "a staged tenant was left to the next flush")
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
        let staged = try await Self.stagedBatches(database)
        let both = try #require(FlushSplit.parts(of: staged, into: 1).first)

        try await TestConnection.withConnection(database) { other in
            // Another flush holds the first tenant.
            try await other.query("BEGIN", logger: quietLogger)
            try await other.query("SELECT pg_advisory_xact_lock(\(AdvisoryLock.flushTenant), \(Int32(tenants[0])))", logger: quietLogger)
            let part = try await Self.flush(both, database)
            #expect(part.tenants == [tenants[1]])
            #expect(part.moved == 50)
            // With every tenant of the part held, the part did not run (moved_rows -1).
            let alone = try await Self.flush(FlushSplit.parts(of: staged.filter { $0.tenant == tenants[0] }, into: 1)[0], database)
            #expect(alone.ran == false, "a flush ran while another held the only tenant of its part")
            let left = try await withTestClient(url: database) { client in
                try await Self.number("SELECT count(*)::int FROM entity_values_ingest WHERE tenant_id = \(tenants[0])", client)
            }
            #expect(left == 100)
            try await other.query("ROLLBACK", logger: quietLogger)
        }
        let after = try await Self.flush(both, database)
        #expect(after.tenants == [tenants[0]])
        #expect(after.moved == 100)
    }

    /// A batch staged by an older server holds several tenants: its tenants go to one part,
    /// and a part that could not lock one of them leaves the whole batch staged.
    @Test func aBatchOfSeveralTenantsIsMovedWholeByOnePart() async throws {
        let database = try await PipelineHarness.migratedDatabase()
        let tenants = try await withTestClient(url: database) { client in
            let tenants = try await Self.stage(rows: [300, 40, 30], on: client)
            // Batch 900002 also holds 20 rows of the third tenant, as a group of two tenants did.
            try await client.query(
                """
                INSERT INTO entity_values_ingest (tenant_id, entity_id, attribute_id, value_decimal, ts, ingested_at, batch_id)
                SELECT e.tenant_id, e.entity_id, a.attribute_id, g::float8, date_trunc('hour', now()) - (1000 + g) * interval '1 second', now(), 900002
                  FROM entities AS e JOIN attributes AS a ON a.tenant_id = e.tenant_id, generate_series(1, 20) AS g
                 WHERE e.tenant_id = \(tenants[2])
                """,
                logger: quietLogger
            )
            return tenants
        }
        let staged = try await Self.stagedBatches(database)
        let split = FlushSplit.parts(of: staged, into: 2)
        try #require(split.count == 2)
        #expect(split.map(\.tenants).sorted { $0.count < $1.count } == [[tenants[0]], [tenants[1], tenants[2]]])

        // The third tenant held elsewhere: its part moves neither batch 900002 (which holds
        // it) nor 900003, and leaves all 90 of their rows staged.
        let joint = try #require(split.first { $0.tenants.contains(tenants[2]) })
        try await TestConnection.withConnection(database) { other in
            try await other.query("BEGIN", logger: quietLogger)
            try await other.query("SELECT pg_advisory_xact_lock(\(AdvisoryLock.flushTenant), \(Int32(tenants[2])))", logger: quietLogger)
            let held = try await Self.flush(joint, database)
            #expect(held.moved == 0, "a part moved a batch one of whose tenants another flush holds")
            try await other.query("ROLLBACK", logger: quietLogger)
        }
        async let first = Self.flush(split[0], database)
        async let second = Self.flush(split[1], database)
        let (part0, part1) = try await (first, second)
        #expect(part0.moved + part1.moved == 390)
        #expect(Set([part0.moved, part1.moved]) == [300, 90])
        let left = try await withTestClient(url: database) { try await Self.number("SELECT count(*)::int FROM entity_values_ingest", $0) }
        #expect(left == 0)
    }

    @Test func noPartRunsWhileABatchIsBeingSettled() async throws {
        let database = try await PipelineHarness.migratedDatabase()
        _ = try await withTestClient(url: database) { try await Self.stage(rows: [30, 20], on: $0) }
        let split = FlushSplit.parts(of: try await Self.stagedBatches(database), into: 2)
        try #require(split.count == 2)
        // settle_staged_batches() takes the flush lock exclusively: every part waits for it.
        let holder = try await TestConnection.holdFlushes(database)
        do {
            for part in split {
                let held = try await Self.flush(part, database)
                #expect(held.ran == false && held.moved == 0, "a part of tenants \(part.tenants) ran under the settle lock")
            }
        } catch {
            try? await holder.close()
            throw error
        }
        try await holder.close()
        // Then the parts run at once, as the flusher runs them, and move everything.
        async let first = Self.flush(split[0], database)
        async let second = Self.flush(split[1], database)
        let (part0, part1) = try await (first, second)
        #expect(part0.moved + part1.moved == 50)
    }

    /// A batch staged after the flusher listed the parts waits for the next flush.
    @Test func aPartMovesOnlyTheBatchesItWasGiven() async throws {
        let database = try await PipelineHarness.migratedDatabase()
        let tenants = try await withTestClient(url: database) { try await Self.stage(rows: [10], on: $0) }
        let part = try #require(FlushSplit.parts(of: try await Self.stagedBatches(database), into: 2).first)
        try await withTestClient(url: database) { client in
            try await client.query(
                """
                INSERT INTO entity_values_ingest (tenant_id, entity_id, attribute_id, value_decimal, ts, ingested_at, batch_id)
                SELECT e.tenant_id, e.entity_id, a.attribute_id, 1, date_trunc('hour', now()) - interval '1 minute', now(), 900099
                  FROM entities AS e JOIN attributes AS a ON a.tenant_id = e.tenant_id WHERE e.tenant_id = \(tenants[0])
                """,
                logger: quietLogger
            )
        }
        let moved = try await Self.flush(part, database)
        #expect(moved.moved == 10)
        let left = try await withTestClient(url: database) {
            try await Self.number("SELECT count(*)::int FROM entity_values_ingest WHERE batch_id = 900099", $0)
        }
        #expect(left == 1)
    }

    /// The writer stages a group of several tenants' requests with one INSERT, a batch a
    /// tenant: each request is told its tenant's batch, and every batch holds one tenant.
    @Test func aGroupOfSeveralTenantsIsStagedAsABatchATenant() async throws {
        try await PipelineHarness.run(configuration: .init(writers: 1)) { harness in
            var made = [Tenant]()
            for name in ["group-a", "group-b", "group-c"] {
                made.append(try await harness.tenant(name, attributes: [AttributeDefinition(name: "temp", type: .decimal, hot: true)]))
            }
            let tenants = made
            let holder = try await TestConnection.holdFlushes(harness.url)
            do {
                var staged = [(tenant: Int64, batch: Int64)]()
                try await TestConnection.withConnection(harness.url) { blocker in
                    // The staging table held: the writer waits on its first write, and the
                    // requests below queue for its next group, together.
                    try await blocker.query("BEGIN", logger: quietLogger)
                    try await blocker.query("LOCK TABLE entity_values_ingest IN ACCESS EXCLUSIVE MODE", logger: quietLogger)
                    let first = Task { try await harness.submit([PipelineHarness.point("dev-0", "temp", 0)], tenant: tenants[0]) }
                    try await Task.sleep(for: .milliseconds(300))
                    let grouped = tenants.enumerated().flatMap { index, tenant in
                        (1...2).map { n in (tenant, PipelineHarness.point("dev-\(n)", "temp", index * 10 + n)) }
                    }
                    let tasks = grouped.map { tenant, point in
                        Task { (tenant.id, try await harness.submit([point], tenant: tenant).batchID) }
                    }
                    try await Task.sleep(for: .milliseconds(500))
                    try await blocker.query("COMMIT", logger: quietLogger)
                    _ = try await first.value
                    for task in tasks { staged.append(try await task.value) }
                }
                // Each tenant's two requests in one batch, three tenants in three batches.
                #expect(Set(staged.map(\.batch)).count == 3, "batches told: \(staged)")
                for tenant in tenants {
                    #expect(Set(staged.filter { $0.tenant == tenant.id }.map(\.batch)).count == 1)
                }
                let mixed = try await harness.number(
                    "SELECT count(*)::int FROM (SELECT batch_id FROM entity_values_ingest GROUP BY 1 HAVING count(DISTINCT tenant_id) > 1) AS b"
                )
                #expect(mixed == 0, "a staged batch holds several tenants")
                for (tenant, batch) in staged {
                    let rows = try await harness.number("SELECT count(*)::int FROM entity_values_ingest WHERE batch_id = \(batch) AND tenant_id = \(tenant)")
                    #expect(rows == 2, "batch \(batch) of tenant \(tenant) holds \(rows ?? 0) rows")
                }
            } catch {
                try? await holder.close()
                throw error
            }
            try await holder.close()
            try await harness.waitUntilFlushed()
            #expect(try await harness.storedPoints(tenant: tenants[0]) == 3)
            #expect(try await harness.storedPoints(tenant: tenants[1]) == 2)
            #expect(try await harness.storedPoints(tenant: tenants[2]) == 2)
        }
    }

    /// A part that fails (here on an error that is not the data's, so nothing is quarantined)
    /// fails its own tenant's flush only: the other part's points are stored, and the
    /// pipeline sees their batch flushed and gives its capacity back.
    @Test func aFailingPartDoesNotHoldBackTheOtherTenantsFlush() async throws {
        let database = try await PipelineHarness.migratedDatabase()
        try await PipelineHarness.run(database: database, configuration: .init(writers: 1, flushSessions: 2)) { harness in
            let hot = [AttributeDefinition(name: "temp", type: .decimal, hot: true)]
            let failing = try await harness.tenant("part-failing", attributes: hot)
            let fine = try await harness.tenant("part-fine", attributes: hot)
            try await withTestClient(url: database) { client in
                try await client.query(
                    PostgresQuery(
                        unsafeSQL: """
                            CREATE FUNCTION test_refuse_part() RETURNS trigger LANGUAGE plpgsql AS $$
                            BEGIN
                                IF NEW.tenant_id = \(failing.id) THEN
                                    RAISE EXCEPTION 'refused by the test' USING ERRCODE = '55P03';
                                END IF;
                                RETURN NEW;
                            END $$
                            """
                    ),
                    logger: quietLogger
                )
                try await client.query(
                    "CREATE TRIGGER test_refuse_part BEFORE INSERT ON entity_values_ts FOR EACH ROW EXECUTE FUNCTION test_refuse_part()",
                    logger: quietLogger
                )
            }
            let holder = try await TestConnection.holdFlushes(database)
            try await harness.submit((1...3).map { PipelineHarness.point("dev-\($0)", "temp", $0) }, tenant: failing)
            try await harness.submit((1...2).map { PipelineHarness.point("dev-\($0)", "temp", $0) }, tenant: fine)
            try await holder.close()

            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline, try await harness.storedPoints(tenant: fine) < 2 || harness.pipeline.unflushedPoints > 3 {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(try await harness.storedPoints(tenant: fine) == 2)
            #expect(harness.pipeline.unflushedPoints == 3, "the fine tenant's flushed batch is still held, or the failing one's not")
            #expect(try await harness.storedPoints(tenant: failing) == 0)
            #expect(try await harness.stagedPoints(tenant: failing) == 3)

            try await withTestClient(url: database) { client in
                try await client.query("DROP TRIGGER test_refuse_part ON entity_values_ts", logger: quietLogger)
            }
            try await harness.waitUntilFlushed()
            #expect(try await harness.storedPoints(tenant: failing) == 3)
        }
    }

    /// A server with nothing of its own staged flushes for rows a server that died left: it
    /// moves only the batches it found staged at its previous flush too, in parts (beside any
    /// busy server's parts), never a batch on first sight and never the whole staging table
    /// under the exclusive flush lock.
    @Test func aServerWithNothingStagedMovesOnlyBatchesItFoundAtItsPreviousFlush() async throws {
        let database = try await PipelineHarness.migratedDatabase()
        // Batch 900001: 100 rows another server staged and never flushed.
        let tenant = try await withTestClient(url: database) { try await Self.stage(rows: [100], on: $0) }[0]
        let testClock = TestClock()
        let configuration = IngestPipeline.Configuration(writers: 1, flushInterval: .milliseconds(100), idleFlushInterval: .seconds(2), flushSessions: 2)
        try await PipelineHarness.run(database: database, configuration: configuration, testClock: testClock) { harness in
            // One idle flush: with the flusher asleep, move the clock by the idle interval and
            // wait until it sleeps again (nothing else sleeps on this clock).
            func asleep() async throws {
                let deadline = ContinuousClock.now + .seconds(10)
                while testClock.sleepers == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
                try #require(testClock.sleepers > 0, "the flusher did not sleep again")
            }
            func idleFlush() async throws {
                try await asleep()
                testClock.advance(by: .seconds(2))
                try await asleep()
            }
            func staged(_ batch: Int) async throws -> Int? {
                try await harness.number("SELECT count(*)::int FROM entity_values_ingest WHERE batch_id = \(batch)")
            }
            func stored() async throws -> Int? {
                try await harness.number("SELECT count(*)::int FROM entity_values_ts WHERE tenant_id = \(tenant)")
            }

            try await idleFlush()
            #expect(try await staged(900_001) == 100, "moved on first sight")
            #expect(try await stored() == 0)
            // Another server stages batch 900002 (other times of the same series) after that flush.
            try await harness.client.query(
                """
                INSERT INTO entity_values_ingest (tenant_id, entity_id, attribute_id, value_decimal, ts, ingested_at, batch_id)
                SELECT e.tenant_id, e.entity_id, a.attribute_id, g::float8, date_trunc('hour', now()) - g * interval '1 second', now(), 900002
                  FROM entities AS e JOIN attributes AS a ON a.tenant_id = e.tenant_id, generate_series(1001, 1030) AS g
                 WHERE e.tenant_id = \(tenant)
                """
            )
            try await idleFlush()
            #expect(try await staged(900_001) == 0, "a batch seen at the previous flush was left staged")
            #expect(try await stored() == 100)
            #expect(try await staged(900_002) == 30, "a batch was moved on first sight")
            try await idleFlush()
            #expect(try await staged(900_002) == 0)
            #expect(try await stored() == 130)
            #expect(try await harness.number("SELECT count(*)::int FROM ingest_flushed_batches WHERE batch_id IN (900001, 900002)") == 2)
        }
    }

    /// The split: largest first, each to the lighter part; never empty parts; every pair once.
    @Test func theSplitBalancesStagedRowsAndPlacesEveryTenantOnce() {
        let fleet: [FlushSplit.Staged] =
            [.init(batch: 1, tenant: 1, rows: 400)] + (2...100).map { .init(batch: Int64($0), tenant: Int64($0), rows: 6) }
        let two = FlushSplit.parts(of: fleet, into: 2)
        #expect(two.count == 2)
        #expect(Set(two.flatMap(\.tenantIDs)) == Set(fleet.map(\.tenant)) && two.flatMap(\.tenantIDs).count == fleet.count)
        #expect(two.map(\.rows).sorted() == [496, 498])
        #expect(FlushSplit.parts(of: [.init(batch: 9, tenant: 7, rows: 5)], into: 4).map(\.batchIDs) == [[9]])
        #expect(FlushSplit.parts(of: [], into: 2).isEmpty)
        #expect(FlushSplit.parts(of: fleet, into: 1).map(\.rows) == [994])
        // Two batches of one tenant stay together; a batch of tenants 3 and 4 joins them.
        let joined: [FlushSplit.Staged] = [
            .init(batch: 1, tenant: 3, rows: 10), .init(batch: 2, tenant: 4, rows: 10), .init(batch: 3, tenant: 3, rows: 10),
            .init(batch: 4, tenant: 5, rows: 10), .init(batch: 2, tenant: 3, rows: 1),
        ]
        let parts = FlushSplit.parts(of: joined, into: 2)
        #expect(parts.map(\.tenants).sorted { $0.count < $1.count } == [[5], [3, 4]])
        #expect(parts.first { $0.tenants.contains(3) }?.batchIDs.sorted() == [1, 2, 2, 3])
    }

    // MARK: - Helpers

    struct Moved: Sendable {
        var moved: Int64 = 0
        var tenants: [Int64] = []
        var ran = false
    }

    static func stagedBatches(_ database: DatabaseURL) async throws -> [FlushSplit.Staged] {
        try await withTestClient(url: database) { client in
            var staged = [FlushSplit.Staged]()
            let rows = try await client.query("SELECT batch_id, tenant_id, staged_rows FROM staged_batches()", logger: quietLogger)
            for try await (batch, tenant, count) in rows.decode((Int64, Int64, Int64).self) {
                staged.append(.init(batch: batch, tenant: tenant, rows: count))
            }
            return staged
        }
    }

    /// A part's flush on a connection of its own, as the flusher's sessions run it.
    static func flush(_ part: FlushSplit.Part, _ database: DatabaseURL) async throws -> Moved {
        try await withTestClient(url: database) { client in
            var moved = Moved()
            let rows = try await client.query(
                "SELECT moved_rows, moved_tenants FROM stage_flush_part(\(part.batchIDs)::bigint[], \(part.tenantIDs)::bigint[])",
                logger: quietLogger
            )
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
