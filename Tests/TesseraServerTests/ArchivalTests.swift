import Foundation
import PostgresNIO
import TesseraCore
import TesseraLocal
import TesseraStore
import TesseraTestSupport
import Testing

/// Archival of a cold month on a database of its own (it drops a partition): September goes to
/// a compressed file with its manifest and leaves the database; reads that reach it are told so
/// (410 `archived`, naming the month), reads beside it are not; ingest refuses its points and
/// keeps the others; whole-hour aggregates still answer from the rollups; `restore` brings back
/// the same rows, and the month takes points again.
@Suite struct ArchivalTests {
    @Test func aMonthLeavesForItsFileIsRefusedWhileAwayAndComesBackTheSame() async throws {
        let database = try await TestCluster.freshDatabase()
        try await withTestClient(url: database) { client in _ = try await Migrator(client: client, logger: quietLogger).migrate() }
        let folder = NSTemporaryDirectory() + "tessera-archive-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let archiver = try MonthArchiver(url: database, directory: folder, settle: .zero, logger: quietLogger)

        try await APITester.run(primary: database, archivedMonthsTTL: .zero) { client, dependencies in
            let tenant = try await client.createTenant("archives")
            #expect(try await client.send(.put, "/v1/attributes/temp", key: tenant.key, json: #"{"type":"decimal","hot":true}"#).status == .created)
            var points = [String]()
            for (index, month) in ["2026-08", "2026-09", "2026-10"].enumerated() {
                for entity in 1...2 {
                    for day in 1...3 {
                        points.append(ReadAPITests.point("dev-\(entity)", "temp", "\(index * 100 + entity * 10 + day).25", "\(month)-0\(day)T0\(day):00:00Z"))
                    }
                }
            }
            try await ReadAPITests.write(client, tenant, points)
            // A non-hot attribute, last written in September.
            #expect(try await client.send(.put, "/v1/attributes/note", key: tenant.key, json: #"{"type":"text"}"#).status == .created)
            try await ReadAPITests.write(
                client,
                tenant,
                [
                    ReadAPITests.point("dev-3", "note", #""august""#, "2026-08-10T00:00:00Z"),
                    ReadAPITests.point("dev-3", "note", #""september""#, "2026-09-10T00:00:00Z"),
                ]
            )
            let before = try await DisasterRecoveryTests.stored(dependencies.primary, tenant: tenant)
            let september = try await Self.september(dependencies.primary)
            #expect(september.rows == 7)

            let manifest = try await offloaded { try archiver.export("2026-09") }
            #expect(manifest.rows == 7)
            #expect(manifest.checksum == september.checksum)
            #expect(manifest.columns.first == "tenant_id")
            let file = folder + "/" + manifest.file
            #expect(FileManager.default.fileExists(atPath: file))
            #expect(FileManager.default.fileExists(atPath: file + ".manifest.json"))
            #expect(try MonthArchiver.sha256(file) == manifest.sha256)
            #expect(try await Self.partitionExists(dependencies.primary) == false)
            let listed = try await offloaded { try archiver.list() }
            #expect(listed.map { "\($0.month) \($0.state)" } == ["2026-08 in database", "2026-09 archived", "2026-10 in database"])
            await #expect(throws: (any Error).self) { try await offloaded { try archiver.export("2026-09") } }

            // Reads that reach September say so; reads beside it are served.
            let key = tenant.key
            let reaching = try await client.send(.get, "/v1/entities/dev-1/series/temp?from=2026-09-15T00:00:00Z&to=2026-10-15T00:00:00Z", key: key)
            #expect(try reaching.expectProblem("archived", .gone).contains("2026-09"))
            try await client.send(.get, "/v1/entities/dev-1/series/temp", key: key).expectProblem("archived", .gone)
            let october = try await client.send(.get, "/v1/entities/dev-1/series/temp?from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z", key: key)
            #expect(october.status == .ok, "\(october.text)")
            #expect((try october.object()["points"] as? [Any])?.count == 3)
            // Newest first, a page that stops in October has not reached September.
            let newest = try await client.send(.get, "/v1/entities/dev-1/series/temp?order=desc&limit=2", key: key)
            #expect(newest.status == .ok, "\(newest.text)")
            // Whole hours come from the rollups, which stay; a half hour would need the points.
            let hourly = try await client.send(
                .post,
                "/v1/query/aggregate",
                key: key,
                json: #"{"attribute": "temp", "from": "2026-09-01T00:00:00Z", "to": "2026-09-04T00:00:00Z", "bucket": "1d", "fn": ["count", "sum"]}"#
            )
            #expect(hourly.status == .ok, "\(hourly.text)")
            let buckets = try #require(try hourly.object()["buckets"] as? [[String: Any]], "\(hourly.text)")
            #expect(buckets.compactMap { $0["count"] as? Int } == [2, 2, 2])
            try await client.send(
                .post,
                "/v1/query/aggregate",
                key: key,
                json: #"{"attribute": "temp", "from": "2026-09-01T00:30:00Z", "to": "2026-09-04T00:00:00Z", "bucket": "1d", "fn": ["count"]}"#
            ).expectProblem("archived", .gone)

            // The latest non-hot value may be in September: not answered from August.
            let note = try await client.send(.get, "/v1/entities/dev-3?attributes=note&consistency=strong", key: key)
            #expect(try note.expectProblem("archived", .gone).contains("2026-09"))
            // An erasure cannot reach the file: refused until the month is back.
            try await client.send(.delete, "/v1/entities/dev-2", key: key).expectProblem("archived", .gone)
            try await client.send(.delete, "/v1/entities/dev-2/series/temp?from=2026-09-02T00:00:00Z", key: key).expectProblem("archived", .gone)
            let octoberOnly = try await client.send(.delete, "/v1/entities/dev-2/series/temp?from=2026-10-03T00:00:00Z&to=2026-10-04T00:00:00Z", key: key)
            #expect(octoberOnly.status == .ok, "\(octoberOnly.text)")
            #expect(try octoberOnly.object()["erased_points"] as? Int == 1)

            // Ingest refuses September's points and keeps the others.
            let mixed = try await client.send(
                .post,
                "/v1/ingest?durability=safe",
                key: key,
                json:
                    #"{"points": [\#(ReadAPITests.point("dev-1", "temp", "1", "2026-09-20T00:00:00Z")), \#(ReadAPITests.point("dev-1", "temp", "2", "2026-10-20T00:00:00Z"))]}"#
            )
            #expect(mixed.status == .ok, "\(mixed.text)")
            let result = try mixed.object()
            #expect(result["accepted"] as? Int == 1)
            let rejected = try #require(result["rejected"] as? [[String: Any]])
            #expect(rejected.first?["index"] as? Int == 0)
            #expect(rejected.first?["code"] as? String == "timestamp_out_of_range")
            #expect((rejected.first?["detail"] as? String)?.contains("archived") == true)
            #expect(try await Self.partitionExists(dependencies.primary) == false)

            // Back: the same rows, checked against the manifest, and the month writable again.
            let restored = try await offloaded { try archiver.restore("2026-09") }
            #expect(restored == manifest)
            #expect(try await Self.september(dependencies.primary) == september)
            let after = try await DisasterRecoveryTests.stored(dependencies.primary, tenant: tenant)
            #expect(after["dev-2"]?.count == before["dev-2"].map { $0.count - 1 })
            #expect(after["dev-3"] == before["dev-3"])
            #expect(after["dev-1"]?.count == before["dev-1"].map { $0.count + 1 })
            let back = try await client.send(.get, "/v1/entities/dev-2/series/temp?from=2026-09-01T00:00:00Z&to=2026-10-01T00:00:00Z", key: key)
            #expect(back.status == .ok, "\(back.text)")
            #expect(try #require(try back.object()["points"] as? [[String: Any]]).compactMap { $0["value"] as? Double } == [121.25, 122.25, 123.25])
            try await ReadAPITests.write(client, tenant, [ReadAPITests.point("dev-1", "temp", "3", "2026-09-21T00:00:00Z")])
            #expect(try await offloaded { try archiver.list() }.map(\.state) == ["in database", "in database", "in database"])
            let noteAgain = try await client.send(.get, "/v1/entities/dev-3?attributes=note&consistency=strong", key: key)
            #expect(noteAgain.status == .ok, "\(noteAgain.text)")
            #expect(noteAgain.text.contains("september"))

            // An export that stopped half-way keeps its claim; a second run says so; cancel lifts it.
            try await dependencies.primary.query("INSERT INTO archived_months (month, state) VALUES ('2026-08-01', 'archiving')", logger: quietLogger)
            await #expect(throws: (any Error).self) { try await offloaded { try archiver.export("2026-08") } }
            #expect(try await Self.partitionExists(dependencies.primary, "entity_values_ts_p202608"))
            try await offloaded { try archiver.cancel("2026-08") }
            #expect(try await offloaded { try archiver.list() }.map(\.state) == ["in database", "in database", "in database"])
        }
    }

    struct Sums: Equatable {
        var rows: Int
        var checksum: String
    }

    static func september(_ client: PostgresClient) async throws -> Sums {
        let rows = try await client.query("SELECT row_count::int, checksum FROM partition_checksum('entity_values_ts_p202609')", logger: quietLogger)
        for try await (count, checksum) in rows.decode((Int, String).self) { return Sums(rows: count, checksum: checksum) }
        return Sums(rows: -1, checksum: "")
    }

    static func partitionExists(_ client: PostgresClient, _ name: String = "entity_values_ts_p202609") async throws -> Bool {
        let rows = try await client.query("SELECT to_regclass(\(name)) IS NOT NULL", logger: quietLogger)
        for try await exists in rows.decode(Bool.self) { return exists }
        return false
    }
}
