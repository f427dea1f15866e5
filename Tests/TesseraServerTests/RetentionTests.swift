import Foundation
import PostgresNIO
import Synchronization
import TesseraCore
import TesseraServer
import TesseraStore
import TesseraTestSupport
import Testing

/// Per-tenant retention on a database of its own (it drops partitions), judged at times the
/// test chooses across two month boundaries: tenant A keeps 2 months, B keeps 4, C keeps
/// everything (then 4 months) and has points only in October.
@Suite struct RetentionTests {
    static func utc(_ text: String) -> Date {
        Date(timeIntervalSince1970: Double(Timestamps.parseRFC3339(text)!) / 1_000_000)
    }

    @Test func expiredPointsLeaveThePartitionsTheRollupsAndTheProjectionTenantByTenant() async throws {
        do { try await self.scenario() } catch {
            Issue.record("\(String(reflecting: error))")
        }
    }

    func scenario() async throws {
        let database = try await TestCluster.freshDatabase()
        try await withTestClient(url: database) { client in _ = try await Migrator(client: client, logger: quietLogger).migrate() }
        try await APITester.run(primary: database) { client, dependencies in
            let a = try await client.createTenant("keeps-2")
            let b = try await client.createTenant("keeps-4")
            let c = try await client.createTenant("keeps-all")
            for tenant in [a, b, c] {
                #expect(try await client.send(.put, "/v1/attributes/temp", key: tenant.key, json: #"{"type":"decimal","hot":true}"#).status == .created)
            }
            let months = ["2026-08", "2026-09", "2026-10", "2026-11", "2026-12"]
            func points(_ entity: String, _ months: [String]) -> [String] {
                months.enumerated().flatMap { index, month in
                    (1...3).map { day in ReadAPITests.point(entity, "temp", "\(index * 10 + day)", "\(month)-0\(day)T06:00:00Z") }
                }
            }
            try await ReadAPITests.write(client, a, points("a-1", months) + points("a-old", ["2026-09"]))
            try await ReadAPITests.write(client, b, points("b-1", months))
            try await ReadAPITests.write(client, c, points("c-1", ["2026-10"]))
            // Retention set after the points were written (ingest refuses points already past it).
            for (tenant, months) in [(a, 2), (b, 4)] {
                let patched = try await client.send(.patch, "/v1/tenants/\(tenant.id)", key: APITester.adminToken, json: #"{"retention_months": \#(months)}"#)
                #expect(patched.status == .ok, "\(patched.text)")
            }
            let superuser = dependencies.primary
            func stored(_ tenant: Tenant) async throws -> [String: Int] {
                let rows = try await superuser.query(
                    "SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM'), count(*)::int FROM entity_values_ts WHERE tenant_id = \(Int64(tenant.id)) GROUP BY 1",
                    logger: quietLogger
                )
                var counts = [String: Int]()
                for try await (month, count) in rows.decode((String, Int).self) { counts[month] = count }
                return counts
            }
            func rollupHours(_ tenant: Tenant, before: String) async throws -> Int {
                let rows = try await superuser.query(
                    "SELECT count(*)::int FROM entity_values_hourly WHERE tenant_id = \(Int64(tenant.id)) AND hour < \(before)::timestamptz",
                    logger: quietLogger
                )
                var count = 0
                for try await n in rows.decode(Int.self) { count = n }
                return count
            }
            func partitions() async throws -> [String] {
                let rows = try await superuser.query(
                    """
                    SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                     WHERE i.inhparent = 'entity_values_ts'::regclass AND c.relname < 'entity_values_ts_p202612' ORDER BY 1
                    """,
                    logger: quietLogger
                )
                var names = [String]()
                for try await name in rows.decode(String.self) { names.append(name) }
                return names
            }
            #expect(try await stored(a) == ["2026-08": 3, "2026-09": 6, "2026-10": 3, "2026-11": 3, "2026-12": 3])
            #expect(try await rollupHours(a, before: "2026-11-01T00:00:00Z") == 9)
            let oldPartitions = try await partitions()
            #expect(
                oldPartitions.suffix(4) == ["entity_values_ts_p202608", "entity_values_ts_p202609", "entity_values_ts_p202610", "entity_values_ts_p202611"]
            )

            let runner = RetentionRunner(client: dependencies.server.primary, options: .init(batchSize: 2), logger: quietLogger)
            let announced = Mutex<[ProjectionChange]>([])
            let (ida, idb, idc) = (Int64(a.id), Int64(b.id), Int64(c.id))

            // A dry run on 15 December shows what goes, and changes nothing. C keeps
            // everything, so it holds every partition.
            let dry = try await runner.run(at: Self.utc("2026-12-15T12:00:00Z"), dryRun: true)
            let byName = Dictionary(uniqueKeysWithValues: dry.partitions.map { ($0.name, $0) })
            #expect(byName["entity_values_ts_p202608"]?.heldBy == [idc])
            #expect(byName["entity_values_ts_p202609"]?.heldBy == [idb, idc])
            #expect(byName["entity_values_ts_p202611"]?.heldBy == [ida, idb, idc])
            #expect(byName["entity_values_ts_p202612"] == nil, "the current month is never a candidate")
            #expect(dry.partitions.allSatisfy { !$0.dropped })
            let dryA = try #require(dry.tenants.first { $0.tenantID == ida })
            #expect(dryA.points == 12)
            #expect(dryA.entities == 1)
            #expect(try await stored(a).count == 5)

            // 15 December: A keeps November on, B September on, C everything. No partition
            // goes (C holds them all): A's and B's expired points go in batches.
            let first = try await runner.run(at: Self.utc("2026-12-15T12:00:00Z")) { change in announced.withLock { $0.append(change) } }
            #expect(first.partitions.allSatisfy { !$0.dropped })
            #expect(try await partitions() == oldPartitions)
            #expect(try await stored(a) == ["2026-11": 3, "2026-12": 3])
            #expect(try await stored(b) == ["2026-09": 3, "2026-10": 3, "2026-11": 3, "2026-12": 3])
            #expect(try await stored(c) == ["2026-10": 3])
            #expect(first.tenants.first { $0.tenantID == ida }?.points == 12)
            #expect(first.tenants.first { $0.tenantID == idb }?.points == 3)
            #expect(try await rollupHours(a, before: "2026-11-01T00:00:00Z") == 0)
            #expect(try await rollupHours(b, before: "2026-09-01T00:00:00Z") == 0)
            #expect(try await rollupHours(b, before: "2026-11-01T00:00:00Z") == 6)

            // A's entity whose only points expired has no value left to serve; its other
            // entity's latest value is untouched; the cache heard of the change.
            let old = try await client.send(.get, "/v1/entities/a-old?consistency=strong", key: a.key)
            #expect(old.status == .ok, "\(old.text)")
            #expect((try old.object()["attributes"] as? [String: Any])?["temp"] == nil)
            let kept = try await client.send(.get, "/v1/entities/a-1?consistency=strong", key: a.key)
            #expect(((try kept.object()["attributes"] as? [String: [String: Any]])?["temp"]?["value"]) as? Double == 43)
            #expect(announced.withLock { $0 }.contains { $0.tenants == [ida] && $0.entities.count == 1 })
            // Aggregates read no expired rollup.
            let aggregate = try await client.send(
                .post,
                "/v1/query/aggregate?consistency=strong",
                key: a.key,
                json: #"{"attribute": "temp", "from": "2026-08-01T00:00:00Z", "to": "2026-12-31T00:00:00Z", "bucket": "1d", "fn": ["count"]}"#
            )
            #expect(aggregate.status == .ok, "\(aggregate.text)")
            let counts = try #require(try aggregate.object()["buckets"] as? [[String: Any]]).compactMap { $0["count"] as? Int }
            #expect(counts.reduce(0, +) == 6)

            // C now keeps 4 months. Across the new year: A keeps December on, B and C October
            // on. August and September are past every window and go whole; October stays.
            let patched = try await client.send(.patch, "/v1/tenants/\(c.id)", key: APITester.adminToken, json: #"{"retention_months": 4}"#)
            #expect(patched.status == .ok, "\(patched.text)")
            let second = try await runner.run(at: Self.utc("2027-01-03T00:00:00Z"))
            #expect(second.partitions.first { $0.name == "entity_values_ts_p202608" }?.dropped == true)
            #expect(second.partitions.first { $0.name == "entity_values_ts_p202609" }?.dropped == true)
            #expect(second.partitions.first { $0.name == "entity_values_ts_p202610" }?.heldBy == [idb, idc])
            #expect(try await partitions().contains("entity_values_ts_p202609") == false)
            #expect(try await partitions().contains("entity_values_ts_p202610"))
            #expect(try await stored(a) == ["2026-12": 3])
            #expect(try await stored(b) == ["2026-10": 3, "2026-11": 3, "2026-12": 3])
            #expect(try await stored(c) == ["2026-10": 3])
            #expect(try await rollupHours(b, before: "2026-10-01T00:00:00Z") == 0)

            // A run with nothing left to do does nothing.
            let third = try await runner.run(at: Self.utc("2027-01-03T00:00:00Z"))
            #expect(third.tenants.isEmpty)
            #expect(third.partitions.allSatisfy { !$0.dropped })
        }
    }

    /// `year-month-day` of the first day `monthsBack` months before now's month (UTC).
    static func monthStart(_ monthsBack: Int) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let now = calendar.dateComponents([.year, .month], from: Date())
        let index = now.year! * 12 + now.month! - 1 - monthsBack
        return String(format: "%04d-%02d-01", index / 12, index % 12 + 1)
    }

    @Test func aLeaseLetsOneServerAtATimeRunAJob() async throws {
        let database = try await TestCluster.freshDatabase()
        try await withTestClient(url: database) { client in
            _ = try await Migrator(client: client, logger: quietLogger).migrate()
            func take(_ holder: String, _ seconds: Int) async throws -> Bool {
                let rows = try await client.query("SELECT take_maintenance_lease('retention', \(holder), \(seconds)::integer)", logger: quietLogger)
                var taken = false
                for try await value in rows.decode(Bool.self) { taken = value }
                return taken
            }
            #expect(try await take("server-1", 60))
            #expect(try await take("server-2", 60) == false)
            #expect(try await take("server-1", 0), "its holder renews it")
            try await Task.sleep(for: .milliseconds(20))
            #expect(try await take("server-2", 60), "a lease run out is anyone's")
            #expect(try await take("server-1", 60) == false)
        }
    }

    /// The server's own schedule: retention runs by itself, and a value it expires leaves
    /// the read cache too, not only the database.
    @Test func theServerAppliesRetentionOnItsScheduleAndTheCacheForgetsExpiredValues() async throws {
        let redis = try await TestRedis.url()
        let database = try await TestCluster.freshDatabase()
        try await withTestClient(url: database) { client in _ = try await Migrator(client: client, logger: quietLogger).migrate() }
        let retention = RetentionService.Configuration(interval: .milliseconds(300), initialDelay: .zero)
        try await APITester.run(primary: database, cache: CacheTests.settings(redis), retention: retention) { client, dependencies in
            let tenant = try await CacheTests.hotTenant(client)
            let old = Self.monthStart(4) + "T06:00:00Z"
            try await ReadAPITests.write(client, tenant, [ReadAPITests.point("e-old", "temp", "1", old), ReadAPITests.point("e-new", "temp", "1", old)])
            try await CacheTests.write(client, tenant, entity: "e-new", value: 2)
            _ = try await client.send(.get, "/v1/entities/e-old", key: tenant.key)
            let cached = try await client.send(.get, "/v1/entities/e-old", key: tenant.key)
            #expect(CacheTests.source(cached) == "cache")
            #expect(try CacheTests.temp(cached) == 1)

            // Two months from now on: the point of four months ago is past it.
            let patched = try await client.send(.patch, "/v1/tenants/\(tenant.id)", key: APITester.adminToken, json: #"{"retention_months": 2}"#)
            #expect(patched.status == .ok, "\(patched.text)")
            var expired: Double? = 1
            for _ in 0..<300 {
                expired = try CacheTests.temp(try await client.send(.get, "/v1/entities/e-old", key: tenant.key))
                if expired == nil { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(expired == nil, "an expired value is still served")
            #expect(try CacheTests.temp(try await client.send(.get, "/v1/entities/e-new", key: tenant.key)) == 2)
            let rows = try await dependencies.primary.query(
                "SELECT count(*)::int FROM entity_values_ts WHERE tenant_id = \(Int64(tenant.id)) AND ts < now() - interval '2 months'",
                logger: quietLogger
            )
            for try await left in rows.decode(Int.self) { #expect(left == 0) }
            let holders = try await dependencies.primary.query("SELECT count(*)::int FROM maintenance_leases WHERE job = 'retention'", logger: quietLogger)
            for try await count in holders.decode(Int.self) { #expect(count == 1) }
        }
    }
}
