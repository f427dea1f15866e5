import Foundation
import PostgresNIO
import Synchronization
import TesseraCore
import TesseraLocal
import TesseraStore
import TesseraTestSupport
import Testing

/// The disaster-recovery drill, for real: a local cluster archiving its WAL with pgBackRest
/// takes points, the time T is noted, more points come, a month's partition is dropped by
/// mistake; `restore` to T brings back, in a new cluster folder, exactly the points stored
/// at T (count and checksum per entity), and a server on the restored cluster serves them.
@Suite struct DisasterRecoveryTests {
    struct Stored: Equatable, CustomStringConvertible {
        var count: Int
        var checksum: String
        var description: String { "\(self.count) points, md5 \(self.checksum.prefix(8))" }
    }

    @Test func aDroppedMonthComesBackByRestoringToTheTimeBeforeTheMistake() async throws {
        guard PgBackRest.locate() != nil else {
            Issue.record("pgbackrest is not installed (scripts/install-deps.sh installs it)")
            return
        }
        let source = NSTemporaryDirectory() + "tessera-dr-\(UUID().uuidString.prefix(8))"
        let target = source + "-restored"
        defer {
            for directory in [source, target] {
                LocalCluster.stopNow(directory: directory)
                if ProcessInfo.processInfo.environment["TESSERA_TEST_LOG"] == nil {
                    try? FileManager.default.removeItem(atPath: directory)
                }
            }
        }
        let cluster = LocalCluster(
            configuration: .init(directory: source, profile: .test, redis: .off, backups: BackupSettings()),
            logger: quietLogger
        )
        let status = try await cluster.up()
        ServerRole.register(status)
        // `up` took the first full backup; the data below lives in the archived WAL only.
        #expect(try await cluster.backups().backups.map(\.type) == ["full"])
        let url = try DatabaseURL(parsing: try #require(status.primary).url)
        try await withTestClient(url: url) { client in _ = try await Migrator(client: client, logger: quietLogger).migrate() }

        let tenant = Mutex<Tenant?>(nil)
        let atT = Mutex<[String: Stored]>([:])
        let restoreTo = Mutex<Date?>(nil)
        try await APITester.run(primary: url) { client, dependencies in
            let created = try await client.createTenant("drill")
            tenant.withLock { $0 = created }
            #expect(try await client.send(.put, "/v1/attributes/temp", key: created.key, json: #"{"type":"decimal","hot":true}"#).status == .created)
            var points = [String]()
            for entity in 1...5 {
                for day in 1...6 {
                    for month in ["2026-10", "2026-11"] {
                        points.append(ReadAPITests.point("dev-\(entity)", "temp", "\(entity * 100 + day).5", "\(month)-0\(day)T0\(entity):00:00Z"))
                    }
                }
            }
            try await ReadAPITests.write(client, created, points)  // safe: stored when acknowledged
            let stored = try await Self.stored(dependencies.primary, tenant: created)
            #expect(stored.values.map(\.count) == Array(repeating: 12, count: 5))
            atT.withLock { $0 = stored }
            restoreTo.withLock { $0 = Date() }
            try await Task.sleep(for: .milliseconds(200))

            // After T: more points, a new entity, and the mistake.
            try await ReadAPITests.write(
                client,
                created,
                [
                    ReadAPITests.point("dev-1", "temp", "999", "2026-11-20T00:00:00Z"),
                    ReadAPITests.point("dev-6", "temp", "1", "2026-10-20T00:00:00Z"),
                ]
            )
            try await dependencies.primary.query("DROP TABLE entity_values_ts_p202610", logger: quietLogger)
            let damaged = try await Self.stored(dependencies.primary, tenant: created)
            #expect(damaged["dev-1"]?.count == 7)
            #expect(damaged["dev-2"]?.count == 6)
        }

        let restored = LocalCluster(configuration: .init(directory: target, profile: .test, redis: .off), logger: quietLogger)
        let restoredStatus = try await cluster.restore(to: try #require(restoreTo.withLock { $0 }), into: restored)
        ServerRole.register(restoredStatus)
        let restoredURL = try DatabaseURL(parsing: try #require(restoredStatus.primary).url)
        #expect(restoredURL.port != url.port)
        let drilled = try #require(tenant.withLock { $0 })
        let expected = atT.withLock { $0 }
        try await APITester.run(primary: restoredURL) { client, dependencies in
            #expect(try await Self.stored(dependencies.primary, tenant: drilled) == expected)
            // The restored server serves them: every month of every entity, not a point after T.
            for entity in 1...5 {
                let series = try await client.send(.get, "/v1/entities/dev-\(entity)/series/temp?limit=100", key: drilled.key)
                #expect(series.status == .ok, "\(series.text)")
                let values = try #require(try series.object()["points"] as? [[String: Any]]).compactMap { $0["value"] as? Double }
                #expect(values.count == 12)
                #expect(Set(values) == Set((1...6).map { Double(entity * 100 + $0) + 0.5 }))
            }
            let after = try await client.send(.get, "/v1/entities/dev-6?consistency=strong", key: drilled.key)
            #expect(after.status == .notFound, "\(after.text)")
        }

        // What an operator sees when the archive breaks: health_check's wal_archive warns.
        try await withTestClient(url: url) { client in
            #expect(try await Self.archiveCheck(client).status == "ok")
            try await client.query("ALTER SYSTEM SET archive_command = '/bin/false'", logger: quietLogger)
            try await client.query("SELECT pg_reload_conf()", logger: quietLogger)
            try await client.query("CREATE TABLE wal_filler AS SELECT generate_series(1, 1000) AS n", logger: quietLogger)
            try await client.query("SELECT pg_switch_wal()", logger: quietLogger)
            let deadline = ContinuousClock.now + .seconds(60)
            var check = try await Self.archiveCheck(client)
            while check.status == "ok", ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(500))
                check = try await Self.archiveCheck(client)
            }
            #expect(check.status == "warn", "\(check)")
            #expect(check.detail.contains("archiving fails"), "\(check)")
            try await client.query("ALTER SYSTEM RESET archive_command", logger: quietLogger)
            try await client.query("SELECT pg_reload_conf()", logger: quietLogger)
        }
    }

    static func archiveCheck(_ client: PostgresClient) async throws -> (status: String, detail: String) {
        let rows = try await client.query("SELECT status, detail FROM health_check() WHERE check_name = 'wal_archive'", logger: quietLogger)
        for try await (status, detail) in rows.decode((String, String).self) { return (status, detail) }
        return ("missing", "")
    }

    /// Count and checksum of each entity's stored points, from the table itself.
    static func stored(_ client: PostgresClient, tenant: Tenant) async throws -> [String: Stored] {
        let rows = try await client.query(
            """
            SELECT e.external_key, count(*)::int,
                   md5(string_agg(concat_ws('|', v.attribute_id, v.ts, v.value_int, v.value_decimal, v.value_text, v.value_bool, v.value_ts, v.value_json), ','
                                  ORDER BY v.attribute_id, v.ts))
              FROM entity_values_ts v JOIN entities e ON e.tenant_id = v.tenant_id AND e.entity_id = v.entity_id
             WHERE v.tenant_id = \(Int64(tenant.id))
             GROUP BY e.external_key
            """,
            logger: quietLogger
        )
        var stored = [String: Stored]()
        for try await (entity, count, checksum) in rows.decode((String, Int, String).self) {
            stored[entity] = Stored(count: count, checksum: checksum)
        }
        return stored
    }
}
