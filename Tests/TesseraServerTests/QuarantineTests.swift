import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import TesseraCore
import TesseraServer
import TesseraStore
import TesseraTestSupport
import Testing

/// The second wall: rows PostgreSQL refuses anyway (here, because a trigger the test
/// installs says so) go to the quarantine, and every other tenant's points keep flowing.
/// Each test has a database of its own, so its trigger and its flush touch no other test.
@Suite struct QuarantineTests {
    @Test func aFlushThatFailsOnOneTenantsRowsQuarantinesThemAndStoresTheOthers() async throws {
        let database = try await DeletedEntityWriteTests.migratedDatabase()
        try await APITester.run(primary: database) { client, dependencies in
            let bad = try await client.createTenant("bad")
            let good = try await client.createTenant("good")
            try await Self.installTrigger(on: "entity_values_ts", refusing: bad, in: database)

            let poisoned = try await client.send(
                .post,
                "/v1/ingest",
                key: bad.key,
                json:
                    #"{"points":[{"entity":"e","attribute":"v","value":666,"ts":"2026-11-01T00:00:00Z"},{"entity":"e","attribute":"v","value":1,"ts":"2026-11-01T00:00:01Z"}]}"#
            )
            #expect(try poisoned.object()["accepted"] as? Int == 2)
            let fine = try await client.send(.post, "/v1/ingest", key: good.key, json: #"{"points":[{"entity":"g","attribute":"v","value":5}]}"#)
            #expect(fine.status == .ok)
            let acknowledged = ContinuousClock.now
            try await waitForRows(dependencies.primary, tenant: good.id, count: 1)
            #expect(ContinuousClock.now - acknowledged < .seconds(3), "the good tenant's point took \(ContinuousClock.now - acknowledged)")

            // The bad request's rows (one batch, one tenant) are in quarantine, with the reason.
            let quarantine = Quarantine(client: dependencies.primary, logger: quietLogger)
            let groups = try await Self.until { try await quarantine.list(.init(tenantID: Int64(bad.id))) }
            #expect(groups.map(\.points) == [2])
            #expect(groups.first?.sqlState == "22023")
            #expect(groups.first?.reason.contains("refused by the test") == true)
            #expect(try await rowCount(dependencies.primary, tenant: bad.id) == 0)
            let health = try await HealthReport.read(from: dependencies.primary, logger: quietLogger)
            #expect(health.checks.first { $0.name == "quarantine" }?.status == "warn")

            // Flushes go on.
            let later = try await client.send(
                .post,
                "/v1/ingest",
                key: good.key,
                json: #"{"points":[{"entity":"g","attribute":"v","value":6,"ts":"2026-11-01T00:00:00Z"}]}"#
            )
            #expect(later.status == .ok)
            try await waitForRows(dependencies.primary, tenant: good.id, count: 2)

            // Replayed while the cause remains: refused, nothing stored, still held.
            await #expect(throws: (any Error).self) { _ = try await quarantine.replay(.init(tenantID: Int64(bad.id))) }
            #expect(try await quarantine.list(.init(tenantID: Int64(bad.id))).map(\.points) == [2])
            // Replayed once it is fixed: stored, and the quarantine is empty.
            try await Self.dropTrigger(on: "entity_values_ts", in: database)
            #expect(try await quarantine.replay(.init(tenantID: Int64(bad.id))) == 2)
            #expect(try await rowCount(dependencies.primary, tenant: bad.id) == 2)
            #expect(try await quarantine.list().isEmpty)
            let healed = try await HealthReport.read(from: dependencies.primary, logger: quietLogger)
            #expect(healed.checks.first { $0.name == "quarantine" }?.status == "ok")
        }
    }

    @Test func aStagingWriteRefusedForOneRequestAnswersTheOthersAndQuarantinesIt() async throws {
        let database = try await DeletedEntityWriteTests.migratedDatabase()
        try await APITester.run(primary: database) { client, dependencies in
            let bad = try await client.createTenant("bad")
            let good = try await client.createTenant("good")
            // Attributes and entities first, so the requests below reach the writer together.
            for tenant in [bad, good] {
                #expect(
                    try await client.send(
                        .post,
                        "/v1/ingest?durability=safe",
                        key: tenant.key,
                        json: #"{"points":[{"entity":"e","attribute":"v","value":0,"ts":"2026-11-01T00:00:00Z"}]}"#
                    ).status == .ok
                )
            }
            try await Self.installTrigger(on: "entity_values_ingest", refusing: bad, in: database)
            // Hold the staging table so both requests queue for one writer's next staging write.
            try await TestConnection.withConnection(database) { holder in
                try await holder.query("BEGIN", logger: quietLogger)
                try await holder.query("LOCK TABLE entity_values_ingest IN ACCESS EXCLUSIVE MODE", logger: quietLogger)
                async let warmup = client.send(
                    .post,
                    "/v1/ingest",
                    key: good.key,
                    json: #"{"points":[{"entity":"e","attribute":"v","value":1,"ts":"2026-11-01T00:00:01Z"}]}"#
                )
                try await Task.sleep(for: .milliseconds(300))
                async let poisoned = client.send(
                    .post,
                    "/v1/ingest",
                    key: bad.key,
                    json: #"{"points":[{"entity":"e","attribute":"v","value":666,"ts":"2026-11-01T00:00:02Z"}]}"#
                )
                async let fine = client.send(
                    .post,
                    "/v1/ingest",
                    key: good.key,
                    json: #"{"points":[{"entity":"e","attribute":"v","value":2,"ts":"2026-11-01T00:00:02Z"}]}"#
                )
                try await Task.sleep(for: .milliseconds(500))
                try await holder.query("COMMIT", logger: quietLogger)
                let (w, p, f) = try await (warmup, poisoned, fine)
                #expect(w.status == .ok)
                #expect(f.status == .ok, "\(f.text)")
                #expect(try f.object()["quarantined"] as? Int == 0)
                #expect(p.status == .ok, "\(p.text)")
                #expect(try p.object()["quarantined"] as? Int == 1)
            }
            try await waitForRows(dependencies.primary, tenant: good.id, count: 3)
            let quarantine = Quarantine(client: dependencies.primary, logger: quietLogger)
            let groups = try await quarantine.list(.init(tenantID: Int64(bad.id)))
            #expect(groups.map(\.points) == [1])
            #expect(groups.first?.reason.contains("staging write") == true)

            try await Self.dropTrigger(on: "entity_values_ingest", in: database)
            #expect(try await quarantine.replay() == 1)
            #expect(try await rowCount(dependencies.primary, tenant: bad.id) == 2)
            #expect(try await quarantine.drop(.init(tenantID: Int64(bad.id))) == 0)
        }
    }

    @Test func anErasureReachesTheQuarantineAndAReplayDoesNotBringTheErasedBack() async throws {
        let database = try await DeletedEntityWriteTests.migratedDatabase()
        try await APITester.run(primary: database) { client, dependencies in
            let tenant = try await client.createTenant("erased-in-quarantine")
            let created = try await client.send(
                .post,
                "/v1/ingest?durability=safe",
                key: tenant.key,
                json:
                    #"{"points":[{"entity":"e1","attribute":"v","value":0,"ts":"2026-11-01T00:00:00Z"},{"entity":"e2","attribute":"v","value":0,"ts":"2026-11-01T00:00:00Z"}]}"#
            )
            #expect(created.status == .ok)
            let quarantine = Quarantine(client: dependencies.primary, logger: quietLogger)

            // A request refused at the staging write: kept as COPY text, four points of two entities.
            try await Self.installTrigger(on: "entity_values_ingest", refusing: tenant, in: database)
            let refused = try await client.send(
                .post,
                "/v1/ingest",
                key: tenant.key,
                json: #"""
                    {"points":[{"entity":"e1","attribute":"v","value":666,"ts":"2026-11-01T01:00:00Z"},
                               {"entity":"e1","attribute":"v","value":1,"ts":"2026-11-01T02:00:00Z"},
                               {"entity":"e1","attribute":"v","value":1,"ts":"2026-11-01T03:00:00Z"},
                               {"entity":"e2","attribute":"v","value":2,"ts":"2026-11-01T02:00:00Z"}]}
                    """#
            )
            #expect(try refused.object()["quarantined"] as? Int == 4, "\(refused.text)")
            try await Self.dropTrigger(on: "entity_values_ingest", in: database)
            // A batch refused by the flush: kept as typed rows, one point of each entity.
            try await Self.installTrigger(on: "entity_values_ts", refusing: tenant, in: database)
            let flushedLater = try await client.send(
                .post,
                "/v1/ingest",
                key: tenant.key,
                json:
                    #"{"points":[{"entity":"e1","attribute":"v","value":5,"ts":"2026-11-01T04:00:00Z"},{"entity":"e2","attribute":"v","value":666,"ts":"2026-11-01T04:00:00Z"}]}"#
            )
            #expect(flushedLater.status == .ok)
            let held = { try await quarantine.list(.init(tenantID: Int64(tenant.id))).reduce(0) { $0 + $1.points } }
            _ = try await Self.until { try await held() == 6 ? [1] : [] }
            #expect(try await held() == 6)

            // A range of e1's series: the one quarantined point in it goes, the others stay.
            let range = try await client.send(
                .delete,
                "/v1/entities/e1/series/v?from=2026-11-01T02:00:00Z&to=2026-11-01T03:00:00Z",
                key: tenant.key
            )
            #expect(range.status == .ok, "\(range.text)")
            #expect(try await held() == 5)
            // The entity: every quarantined point of e1 goes; e2's stay.
            #expect(try await client.send(.delete, "/v1/entities/e1", key: tenant.key).status == .noContent)
            #expect(try await held() == 2)

            // Replayed once the cause is gone: e2's points are stored, and e1 stays erased.
            try await Self.dropTrigger(on: "entity_values_ts", in: database)
            #expect(try await quarantine.replay(.init(tenantID: Int64(tenant.id))) == 2)
            #expect(try await quarantine.list().isEmpty)
            try await client.send(.get, "/v1/entities/e1?consistency=strong", key: tenant.key).expectProblem("not_found", .notFound)
            #expect(try await rowCount(dependencies.primary, tenant: tenant.id) == 3)
            let e2 = try await client.send(.get, "/v1/entities/e2/series/v?consistency=strong", key: tenant.key).object()
            #expect((e2["points"] as? [[String: Any]])?.compactMap { ($0["value"] as? NSNumber)?.doubleValue } == [0, 2, 666])
        }
    }

    /// A trigger that refuses the tenant's rows whose decimal value is 666, as PostgreSQL
    /// refuses a value it cannot take (SQLSTATE 22023).
    static func installTrigger(on table: String, refusing tenant: Tenant, in database: DatabaseURL) async throws {
        try await withTestClient(url: database) { client in
            try await client.query(
                PostgresQuery(
                    unsafeSQL: """
                        CREATE OR REPLACE FUNCTION test_poison() RETURNS trigger LANGUAGE plpgsql AS $$
                        BEGIN
                            IF NEW.tenant_id = \(tenant.id) AND NEW.value_decimal = 666 THEN
                                RAISE EXCEPTION 'value refused by the test' USING ERRCODE = '22023';
                            END IF;
                            RETURN NEW;
                        END $$
                        """
                ),
                logger: quietLogger
            )
            try await client.query(
                PostgresQuery(unsafeSQL: "CREATE TRIGGER test_poison BEFORE INSERT ON \(table) FOR EACH ROW EXECUTE FUNCTION test_poison()"),
                logger: quietLogger
            )
        }
    }

    static func dropTrigger(on table: String, in database: DatabaseURL) async throws {
        try await withTestClient(url: database) { client in
            try await client.query(PostgresQuery(unsafeSQL: "DROP TRIGGER test_poison ON \(table)"), logger: quietLogger)
        }
    }

    /// `read`'s answer once it is not empty (up to 10 s).
    static func until<T: Collection>(_ read: () async throws -> T) async throws -> T {
        let deadline = ContinuousClock.now + .seconds(10)
        var value = try await read()
        while value.isEmpty, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            value = try await read()
        }
        return value
    }
}

/// A flush that fails on something other than the data (here a trigger says the disk is
/// full) is told to the database: `/readyz` shows `flush_failures` warn (fail after ten in a
/// row) while it fails,
/// and ok once a flush succeeds again; the failures are counted in `/metrics`.
@Suite struct FlushFailureHealthTests {
    @Test func aFailingFlushShowsInReadyzAndClearsWhenItWorksAgain() async throws {
        let database = try await DeletedEntityWriteTests.migratedDatabase()
        try await APITester.run(ingest: .init(writers: 1, flushInterval: .milliseconds(100)), primary: database) { client, dependencies in
            let tenant = try await client.createTenant("disk-full")
            try await withTestClient(url: database) { admin in
                try await admin.query(
                    """
                    CREATE FUNCTION test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = '53100'; END $$
                    """
                )
                try await admin.query("CREATE TRIGGER test_disk_full BEFORE INSERT ON entity_values_ts FOR EACH ROW EXECUTE FUNCTION test_disk_full()")
            }
            let written = try await client.send(.post, "/v1/ingest", key: tenant.key, json: #"{"points":[{"entity":"e","attribute":"v","value":1}]}"#)
            #expect(written.status == .ok)
            let failing = try await Self.flushCheck(client, until: ["warn", "fail"])
            #expect((failing?["detail"] as? String)?.contains("No space left on device") == true, "\(String(describing: failing))")
            #expect(try await client.send(.get, "/readyz").status == .ok)
            let metrics = try await client.send(.get, "/metrics").text
            #expect((MetricsExpositionTests.value("tessera_ingest_flush_failures_total", in: metrics) ?? 0) >= 1)

            try await withTestClient(url: database) { admin in try await admin.query("DROP TRIGGER test_disk_full ON entity_values_ts") }
            try await waitForRows(dependencies.primary, tenant: tenant.id, count: 1)
            #expect(try await Self.flushCheck(client, until: ["ok"])?["status"] as? String == "ok")
        }
    }

    /// `/readyz`'s flush_failures check once its status is one of `statuses` (readyz caches the
    /// checks for 5 s), polled for up to 30 s; the last one read.
    static func flushCheck(_ client: any TestClientProtocol, until statuses: Set<String>) async throws -> [String: Any]? {
        let deadline = ContinuousClock.now + .seconds(30)
        var check: [String: Any]?
        while ContinuousClock.now < deadline {
            let ready = try await client.send(.get, "/readyz").object()
            check = (ready["checks"] as? [[String: Any]])?.first { $0["name"] as? String == "flush_failures" }
            if let status = check?["status"] as? String, statuses.contains(status) { return check }
            try await Task.sleep(for: .milliseconds(500))
        }
        Issue.record("timed out waiting for flush_failures \(statuses.sorted()): \(String(describing: check))")
        return check
    }
}
