import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import TesseraCore
import TesseraLocal
import TesseraStore
import TesseraTestSupport
import Testing

/// Packed months (migration 0027) on a database of their own: September's points become packs
/// and leave its partition, and every read answers as before (series pages across the month's
/// edge, raw and rollup aggregates, a non-hot lookup, the export); a late point replaces a
/// packed one exactly once (series, rollups) and the month packs again; erasure, retention and
/// archival reach packed points.
@Suite struct PackedMonthTests {
    /// What a user reads of the tenant: each entity's whole series, hourly and raw aggregates,
    /// the latest note, the export.
    struct Reads: Equatable {
        var series: [String]
        var pages: [String]
        var hourly: String
        var raw: String
        var note: String
        var export: [String]
    }

    @Test func aPackedMonthIsReadAsBeforeTakesLatePointsAndIsErasedRetainedAndArchived() async throws {
        let database = try await TestCluster.freshDatabase()
        try await withTestClient(url: database) { client in _ = try await Migrator(client: client, logger: quietLogger).migrate() }
        let folder = NSTemporaryDirectory() + "tessera-packed-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let archiver = try MonthArchiver(url: database, directory: folder, settle: .zero, logger: quietLogger)

        try await APITester.run(primary: database) { client, dependencies in
            let tenant = try await client.createTenant("packed")
            let key = tenant.key
            #expect(try await client.send(.put, "/v1/attributes/temp", key: key, json: #"{"type":"decimal","hot":true}"#).status == .created)
            #expect(try await client.send(.put, "/v1/attributes/note", key: key, json: #"{"type":"text"}"#).status == .created)
            var points = [String]()
            for month in ["2026-08", "2026-09", "2026-10"] {
                for entity in 1...2 {
                    for day in 1...4 {
                        for minute in ["10", "40"] {
                            let value = Double(entity * 1000 + day * 10) + (minute == "10" ? 0.25 : 0.75)
                            points.append(ReadAPITests.point("dev-\(entity)", "temp", "\(value)", "\(month)-0\(day)T0\(day):\(minute):00Z"))
                        }
                    }
                }
            }
            try await ReadAPITests.write(client, tenant, points)
            try await ReadAPITests.write(
                client,
                tenant,
                [
                    ReadAPITests.point("dev-3", "note", #""august""#, "2026-08-10T00:00:00Z"),
                    ReadAPITests.point("dev-3", "note", #""september""#, "2026-09-10T00:00:00Z"),
                ]
            )
            let before = try await Self.reads(client, key: key)
            #expect(before.series.count == 2)
            #expect(before.export.count == 16 * 3 + 2)

            // Packed: September's 18 points leave its rows, and every read answers the same.
            let report = try await offloaded { try archiver.pack("2026-09") }
            #expect(report.points == 17, "16 temperatures and a note")
            #expect(report.tenants == 1)
            // The partition's heap is cut to nothing once no snapshot sees the moved rows.
            #expect(report.reclaimed)
            #expect(try await Self.count(dependencies.primary, "SELECT pg_relation_size('entity_values_ts_p202609')") == 0)
            #expect(try await Self.count(dependencies.primary, "SELECT count(*) FROM entity_values_ts_p202609") == 0)
            #expect(try await Self.count(dependencies.primary, "SELECT sum(points) FROM entity_values_packed") == 17)
            // A pack holds whole series of one attribute (migration 0028): dev-1's and dev-2's
            // temperatures are one pack, dev-3's notes another.
            #expect(try await Self.count(dependencies.primary, "SELECT count(*) FROM entity_values_packed") == 2)
            #expect(try await Self.count(dependencies.primary, "SELECT max(cardinality(entity_ids)) FROM entity_values_packed") == 16)
            #expect(
                try await offloaded { try archiver.list() }.map { "\($0.month) \($0.state)" } == [
                    "2026-08 in database", "2026-09 packed", "2026-10 in database",
                ]
            )
            #expect(try await offloaded { try archiver.monthsToPack(olderThan: 1) }.contains("2026-09") == false)
            #expect(try await Self.reads(client, key: key) == before)

            // A late point replaces a packed one, another is new: stored once each, the rollups exact.
            try await ReadAPITests.write(
                client,
                tenant,
                [
                    ReadAPITests.point("dev-1", "temp", "5.5", "2026-09-02T02:10:00Z"),
                    ReadAPITests.point("dev-1", "temp", "6.5", "2026-09-02T02:20:00Z"),
                ]
            )
            let late = try await client.send(.get, "/v1/entities/dev-1/series/temp?from=2026-09-02T02:00:00Z&to=2026-09-02T03:00:00Z", key: key)
            #expect(try Self.values(late) == ["2026-09-02T02:10:00.000000Z=5.5", "2026-09-02T02:20:00.000000Z=6.5", "2026-09-02T02:40:00.000000Z=1020.75"])
            let hour = try await Self.aggregate(client, key: key, from: "2026-09-02T02:00:00Z", to: "2026-09-02T03:00:00Z", bucket: "1h")
            #expect(hour == #"[{"count":5,"sum":5073.75}]"#, "dev-1: 5.5 + 6.5 + 1020.75 (1020.25 replaced), dev-2: 2020.25 + 2020.75")
            #expect(
                try await Self.count(dependencies.primary, "SELECT count(*) FROM entity_values_ts_p202609") == 17,
                "the pack of dev-1's and dev-2's September temperatures unpacked, with dev-1's new point"
            )
            #expect(try await offloaded { try archiver.monthsToPack(olderThan: 1) }.contains("2026-09"))
            let again = try await offloaded { try archiver.pack("2026-09") }
            #expect(again.points == 17, "the temperatures' September packed again with dev-1's new point")
            #expect(try await Self.count(dependencies.primary, "SELECT count(*) FROM entity_values_ts_p202609") == 0)
            #expect(try await Self.aggregate(client, key: key, from: "2026-09-02T02:00:00Z", to: "2026-09-02T03:00:00Z", bucket: "1h") == hour)

            // Erasure of a packed range, then of a whole entity: gone from every read.
            let erased = try await client.send(.delete, "/v1/entities/dev-2/series/temp?from=2026-09-02T00:00:00Z&to=2026-09-04T00:00:00Z", key: key)
            #expect(erased.status == .ok, "\(erased.text)")
            #expect(try erased.object()["erased_points"] as? Int == 4)
            let left = try await client.send(.get, "/v1/entities/dev-2/series/temp?from=2026-09-01T00:00:00Z&to=2026-10-01T00:00:00Z", key: key)
            #expect(
                try Self.values(left) == [
                    "2026-09-01T01:10:00.000000Z=2010.25", "2026-09-01T01:40:00.000000Z=2010.75", "2026-09-04T04:10:00.000000Z=2040.25",
                    "2026-09-04T04:40:00.000000Z=2040.75",
                ]
            )
            #expect(
                try await Self.aggregate(client, key: key, from: "2026-09-02T00:00:00Z", to: "2026-09-04T00:00:00Z", bucket: "1d")
                    == #"[{"count":3,"sum":1032.75},{"count":2,"sum":2061}]"#
            )
            #expect(try await client.send(.delete, "/v1/entities/dev-3", key: key).status == .noContent)
            #expect(
                try await Self.count(
                    dependencies.primary,
                    "SELECT count(*) FROM entity_values_packed p JOIN entities e ON e.tenant_id = p.tenant_id AND e.entity_id = ANY (p.entity_ids) WHERE e.external_key = 'dev-3'"
                ) == 0
            )
            let noteGone = try await client.send(.get, "/v1/entities/dev-3/series/note", key: key)
            #expect(noteGone.status == .notFound, "\(noteGone.text)")

            // Retention: August packed, then everything before September deleted, packs and all.
            _ = try await offloaded { try archiver.pack("2026-08") }
            #expect(try await Self.count(dependencies.primary, "SELECT sum(points) FROM entity_values_packed WHERE month = '2026-08-01 00:00+00'") == 16)
            #expect(try await Self.count(dependencies.primary, "SELECT points FROM retention_preview(\(Int64(tenant.id)), '2026-09-01 00:00+00')") == 16)
            var deleted = 0
            while true {
                let n = try await Self.count(
                    dependencies.primary,
                    "SELECT points FROM retention_delete_batch(\(Int64(tenant.id)), '2026-09-01 00:00+00', 5000)"
                )
                if n == 0 { break }
                deleted += n
            }
            #expect(deleted == 16)
            let august = try await client.send(.get, "/v1/entities/dev-1/series/temp?from=2026-08-01T00:00:00Z&to=2026-09-01T00:00:00Z", key: key)
            #expect(try Self.values(august).isEmpty)

            // Archival of a packed month: its points become rows, the file holds them all, and
            // they come back as rows.
            let september = try await client.send(.get, "/v1/entities/dev-1/series/temp?from=2026-09-01T00:00:00Z&to=2026-10-01T00:00:00Z", key: key)
            let manifest = try await offloaded { try archiver.export("2026-09") }
            #expect(manifest.rows == 13, "dev-1's 9 points and dev-2's 4")
            #expect(try await Self.count(dependencies.primary, "SELECT count(*) FROM entity_values_packed") == 0)
            _ = try await offloaded { try archiver.restore("2026-09") }
            let restored = try await client.send(.get, "/v1/entities/dev-1/series/temp?from=2026-09-01T00:00:00Z&to=2026-10-01T00:00:00Z", key: key)
            #expect(try Self.values(restored) == Self.values(september))
            #expect(try await offloaded { try archiver.list() }.map(\.state) == ["in database", "in database", "in database"])
        }
    }

    static func reads(_ client: any TestClientProtocol, key: String) async throws -> Reads {
        var series = [String]()
        for entity in ["dev-1", "dev-2"] {
            let response = try await client.send(.get, "/v1/entities/\(entity)/series/temp?from=2026-08-01T00:00:00Z&to=2026-11-01T00:00:00Z", key: key)
            series.append(try Self.values(response).joined(separator: ","))
        }
        // Pages newest first with an open start (series_points walks the months), across September's edges.
        var pages = [String]()
        var after: String?
        repeat {
            let path = "/v1/entities/dev-1/series/temp?order=desc&limit=5" + (after.map { "&cursor=\($0)" } ?? "")
            let response = try await client.send(.get, path, key: key)
            pages.append(try Self.values(response).joined(separator: ","))
            after = try response.object()["next_cursor"] as? String
        } while after != nil && pages.count < 20
        let hourly = try await Self.aggregate(client, key: key, from: "2026-08-01T00:00:00Z", to: "2026-11-01T00:00:00Z", bucket: "30d")
        let raw = try await Self.aggregate(client, key: key, from: "2026-08-01T00:30:00Z", to: "2026-11-01T00:00:00Z", bucket: "30m", byEntity: true)
        let note = try await client.send(.get, "/v1/entities/dev-3?attributes=note&consistency=strong", key: key)
        #expect(note.status == .ok, "\(note.text)")
        var export = [String]()
        for entity in ["dev-1", "dev-2", "dev-3"] {
            let response = try await client.send(.get, "/v1/entities/\(entity)/export", key: key)
            #expect(response.status == .ok, "\(response.text)")
            export += response.text.split(separator: "\n").map(String.init)
        }
        return Reads(series: series, pages: pages, hourly: hourly, raw: raw, note: try Self.json(note.object()["attributes"] ?? [:]), export: export)
    }

    /// A series page as "time=value" strings.
    static func values(_ response: TestResponse) throws -> [String] {
        #expect(response.status == .ok, "\(response.text)")
        let points = try #require(try response.object()["points"] as? [[String: Any]], "\(response.text)")
        return points.map { "\($0["ts"] ?? "")=\($0["value"] ?? "")" }
    }

    static func aggregate(
        _ client: any TestClientProtocol,
        key: String,
        from: String,
        to: String,
        bucket: String,
        byEntity: Bool = false
    ) async throws -> String {
        let grouping = byEntity ? #", "group_by": "entity""# : ""
        let body = #"{"attribute": "temp", "from": "\#(from)", "to": "\#(to)", "bucket": "\#(bucket)", "fn": ["count", "sum"]\#(grouping)}"#
        let response = try await client.send(.post, "/v1/query/aggregate", key: key, json: body)
        #expect(response.status == .ok, "\(response.text)")
        let buckets = try #require(try response.object()["buckets"] as? [[String: Any]], "\(response.text)")
        let kept: [[String: Any]] = buckets.map { bucket in bucket.filter { ["count", "sum", "entity"].contains($0.key) } }
        return try Self.json(kept)
    }

    static func json(_ value: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]), as: UTF8.self)
    }

    static func count(_ client: PostgresClient, _ sql: String) async throws -> Int {
        do {
            let rows = try await client.query(PostgresQuery(unsafeSQL: "SELECT coalesce((\(sql)), 0)::int"), logger: quietLogger)
            for try await n in rows.decode(Int.self) { return n }
            return -1
        } catch {
            Issue.record("\(sql): \(String(reflecting: error))")
            throw error
        }
    }
}
