import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import TesseraCore
import TesseraServer
import TesseraStore
import TesseraTestSupport
import Testing

/// Erasure: a range of a series, and every entity of a data subject, gone from every
/// read (series, lookup, aggregates from the rollups, the cache) at once; export of
/// what is stored, as NDJSON.
@Suite struct ErasureTests {
    static let hours = ["2026-11-20T08:00:00Z", "2026-11-20T09:00:00Z", "2026-11-20T10:00:00Z", "2026-11-20T11:00:00Z"]

    @Test func anErasedRangeLeavesTheSeriesTheLookupAndTheAggregates() async throws {
        let cache = CacheTests.settings(try await TestRedis.url())
        try await CacheTests.run(cache: cache) { client, dependencies in
            let tenant = try await DeletedEntityWriteTests.tenantWithTempAndHum(client, "erase-range")
            let points =
                Self.hours.enumerated().map { #"{"entity":"dev-1","attribute":"temp","value":\#($0.offset + 1),"ts":"\#($0.element)"}"# }
                + [#"{"entity":"dev-1","attribute":"hum","value":50,"ts":"\#(Self.hours[3])"}"#]
            let written = try await client.send(.post, "/v1/ingest?durability=safe", key: tenant.key, json: #"{"points":[\#(points.joined(separator: ","))]}"#)
            #expect(written.status == .ok)
            // The lookup is cached (eventual), with the latest temp, 4.
            #expect(try await Self.latest(client, tenant, "temp", consistency: "eventual") == 4)
            #expect(try await Self.latest(client, tenant, "temp", consistency: "eventual") == 4)
            #expect(try await Self.count(client, tenant) == 4)

            // Erase 10:00 and later: two points.
            let erased = try await client.send(.delete, "/v1/entities/dev-1/series/temp?from=2026-11-20T10:00:00Z", key: tenant.key)
            #expect(erased.status == .ok, "\(erased.text)")
            #expect(try erased.object()["erased_points"] as? Int == 2)
            #expect(try await Self.series(client, tenant, "temp") == [1, 2])
            // Every read at once: the cache's lookup too, and the rollups the aggregate reads.
            #expect(try await Self.latest(client, tenant, "temp", consistency: "eventual") == 2)
            #expect(try await Self.latest(client, tenant, "temp", consistency: "strong") == 2)
            #expect(try await Self.count(client, tenant) == 2)
            // The other attribute is untouched.
            #expect(try await Self.latest(client, tenant, "hum", consistency: "strong") == 50)

            // The whole series: the lookup has no temp at all.
            let all = try await client.send(.delete, "/v1/entities/dev-1/series/temp", key: tenant.key)
            #expect(try all.object()["erased_points"] as? Int == 2)
            #expect(try await Self.series(client, tenant, "temp") == [])
            #expect(try await Self.latest(client, tenant, "temp", consistency: "eventual") == nil)
            #expect(try await Self.count(client, tenant) == 0)
            #expect(try await Self.storedPoints(dependencies, tenant, "dev-1") == 1)

            // What cannot be erased says why.
            try await client.send(.delete, "/v1/entities/nobody/series/temp", key: tenant.key).expectProblem("not_found", .notFound)
            try await client.send(.delete, "/v1/entities/dev-1/series/nothing", key: tenant.key).expectProblem("unknown_attribute", .badRequest)
            try await client.send(.delete, "/v1/entities/dev-1/series/temp?from=yesterday", key: tenant.key)
                .expectProblem("invalid_parameter", .badRequest)
        }
    }

    @Test func aPointStagedBeforeItsRangeWasErasedIsNotStoredLater() async throws {
        let database = try await DeletedEntityWriteTests.migratedDatabase()
        try await APITester.run(ingest: .init(writers: 1, flushInterval: .seconds(3)), primary: database) { client, dependencies in
            let tenant = try await DeletedEntityWriteTests.tenantWithTempAndHum(client, "erase-staged")
            let first = try await client.send(
                .post,
                "/v1/ingest?durability=safe",
                key: tenant.key,
                json: #"{"points":[{"entity":"dev-1","attribute":"temp","value":1,"ts":"\#(Self.hours[0])"}]}"#
            )
            #expect(first.status == .ok)
            let holder = try await TestConnection.holdFlushes(database)
            let inRange = #"{"entity":"dev-1","attribute":"temp","value":3,"ts":"\#(Self.hours[2])"}"#
            let outside = #"{"entity":"dev-1","attribute":"temp","value":2,"ts":"\#(Self.hours[1])"}"#
            let staged = try await client.send(.post, "/v1/ingest", key: tenant.key, json: #"{"points":[\#(inRange),\#(outside)]}"#)
            #expect(staged.status == .ok)
            let erased = try await client.send(.delete, "/v1/entities/dev-1/series/temp?from=\(Self.hours[2])", key: tenant.key)
            #expect(erased.status == .ok)
            try await holder.close()
            try await DeletedEntityWriteTests.waitUntilFlushed(dependencies)
            // The staged point in the range went with the erasure; the one outside it is kept.
            #expect(try await Self.series(client, tenant, "temp") == [1, 2])
        }
    }

    @Test func aSubjectsEntitiesAreExportedThenErasedAndOthersKept() async throws {
        try await APITester.run { client, dependencies in
            let tenant = try await DeletedEntityWriteTests.tenantWithTempAndHum(client, "subject")
            for (key, subject) in [("phone-1", "person-7"), ("watch-1", "person-7"), ("phone-2", "person-8")] {
                let made = try await client.send(.post, "/v1/entities", key: tenant.key, json: #"{"key":"\#(key)","subject":"\#(subject)"}"#)
                #expect(made.status == .created)
                #expect(try made.object()["subject"] as? String == subject)
            }
            var points = [String]()
            for key in ["phone-1", "watch-1", "phone-2"] {
                for (index, hour) in Self.hours.enumerated() {
                    points.append(#"{"entity":"\#(key)","attribute":"temp","value":\#(index),"ts":"\#(hour)"}"#)
                }
            }
            // One more point in another month, so that the export walks two partitions.
            points.append(#"{"entity":"phone-1","attribute":"hum","value":61.5,"ts":"2026-10-02T00:00:00Z"}"#)
            let written = try await client.send(.post, "/v1/ingest?durability=safe", key: tenant.key, json: #"{"points":[\#(points.joined(separator: ","))]}"#)
            #expect(written.status == .ok)

            let listed = try await client.send(.get, "/v1/subjects/person-7", key: tenant.key).object()
            #expect(listed["entities"] as? [String] == ["phone-1", "watch-1"])

            // The export: every stored point of the subject, one JSON object a line.
            let export = try await client.send(.get, "/v1/subjects/person-7/export", key: tenant.key)
            #expect(export.status == .ok)
            #expect(export.headers[.contentType] == "application/x-ndjson")
            let lines = try Self.lines(export.text)
            #expect(lines.count == 9)
            #expect(Set(lines.compactMap { $0["entity"] as? String }) == ["phone-1", "watch-1"])
            #expect(lines.first?["attribute"] as? String == "hum", "the older month first")
            #expect(lines.first?["value"] as? Double == 61.5)
            #expect(lines.first?["ts"] as? String == "2026-10-02T00:00:00.000000Z")
            let one = try Self.lines(try await client.send(.get, "/v1/entities/phone-2/export", key: tenant.key).text)
            #expect(one.count == 4)
            #expect(one.map { $0["value"] as? Int } == [0, 1, 2, 3])

            // Erased: both entities, at once, from every read; the other subject's entity kept.
            let erased = try await client.send(.delete, "/v1/subjects/person-7", key: tenant.key)
            #expect(erased.status == .ok, "\(erased.text)")
            // The commit's WAL position, for a read on a replica that must not see the subject.
            #expect(erased.headers[HTTPField.Name("X-Tessera-Commit-LSN")!]?.contains("/") == true)
            let report = try erased.object()
            #expect(report["erased_entities"] as? [String] == ["phone-1", "watch-1"])
            #expect(report["erased_points"] as? Int == 9)
            for key in ["phone-1", "watch-1"] {
                try await client.send(.get, "/v1/entities/\(key)?consistency=strong", key: tenant.key).expectProblem("not_found", .notFound)
                try await client.send(.get, "/v1/entities/\(key)/export", key: tenant.key).expectProblem("not_found", .notFound)
            }
            #expect(try await client.send(.get, "/v1/subjects/person-7", key: tenant.key).object()["entities"] as? [String] == [])
            try await client.send(.get, "/v1/subjects/person-7/export", key: tenant.key).expectProblem("not_found", .notFound)
            try await client.send(.delete, "/v1/subjects/person-7", key: tenant.key).expectProblem("not_found", .notFound)
            #expect(try await Self.latest(client, tenant, "temp", consistency: "strong", entity: "phone-2") == 3)
            #expect(try await Self.count(client, tenant) == 4)
            // Nothing of theirs is left in the tables, and the tag is gone.
            for key in ["phone-1", "watch-1"] {
                #expect(try await Self.storedPoints(dependencies, tenant, key) == 0)
            }
            let tagged = try await dependencies.primary.query(
                "SELECT count(*)::int FROM entities WHERE tenant_id = \(tenant.id) AND subject = 'person-7'"
            )
            for try await count in tagged.decode(Int.self) { #expect(count == 0) }

            // A read key may export but not erase.
            let reader = try await client.send(.post, "/v1/keys", key: tenant.key, json: #"{"name":"reader","scope":"read"}"#).object()
            let readKey = try #require(reader["key"] as? String)
            #expect(try await client.send(.get, "/v1/entities/phone-2/export", key: readKey).status == .ok)
            try await client.send(.delete, "/v1/subjects/person-8", key: readKey).expectProblem("insufficient_scope", .forbidden)
            try await client.send(.delete, "/v1/entities/phone-2/series/temp", key: readKey).expectProblem("insufficient_scope", .forbidden)
        }
    }

    // MARK: - Helpers

    /// The latest value of an attribute in an entity's lookup, nil when it has none.
    static func latest(
        _ client: any TestClientProtocol,
        _ tenant: Tenant,
        _ attribute: String,
        consistency: String,
        entity: String = "dev-1"
    ) async throws -> Double? {
        let lookup = try await client.send(.get, "/v1/entities/\(entity)?consistency=\(consistency)", key: tenant.key)
        #expect(lookup.status == .ok, "\(lookup.text)")
        let attributes = try lookup.object()["attributes"] as? [String: Any]
        return (attributes?[attribute] as? [String: Any])?["value"] as? Double
    }

    /// The values of an entity's series of one attribute, in time order (strong).
    static func series(_ client: any TestClientProtocol, _ tenant: Tenant, _ attribute: String) async throws -> [Double] {
        let page = try await client.send(.get, "/v1/entities/dev-1/series/\(attribute)?consistency=strong", key: tenant.key)
        #expect(page.status == .ok, "\(page.text)")
        return (try page.object()["points"] as? [[String: Any]])?.compactMap { $0["value"] as? Double } ?? []
    }

    /// How many temp points the hourly rollups count for the tenant (an aggregate, strong).
    static func count(_ client: any TestClientProtocol, _ tenant: Tenant) async throws -> Int {
        let aggregate = #"{"attribute": "temp", "from": "2026-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z", "bucket": "366d", "fn": ["count"]}"#
        let answer = try await client.send(.post, "/v1/query/aggregate?consistency=strong", key: tenant.key, json: aggregate)
        #expect(answer.status == .ok, "\(answer.text)")
        return (try answer.object()["buckets"] as? [[String: Any]])?.compactMap { $0["count"] as? Int }.reduce(0, +) ?? -1
    }

    /// Points stored for the entity with that key, as the superuser sees the table.
    static func storedPoints(_ dependencies: TestServerDependencies, _ tenant: Tenant, _ key: String) async throws -> Int {
        let rows = try await dependencies.primary.query(
            """
            SELECT count(*)::int FROM entity_values_ts t JOIN entities e USING (tenant_id, entity_id)
             WHERE e.tenant_id = \(tenant.id) AND e.external_key = \(key)
            """
        )
        for try await count in rows.decode(Int.self) { return count }
        return -1
    }

    static func lines(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }
}
