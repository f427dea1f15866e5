import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import TesseraCore
import TesseraServer
import TesseraStore
import TesseraTestSupport
import Testing

/// The read endpoints against the real database (a single node: every read is
/// served by the primary; routing across replicas is `ReplicaRoutingTests`).
@Suite struct ReadAPITests {
    /// Writes points with `safe` durability, so they are readable when this returns.
    static func write(_ client: any TestClientProtocol, _ tenant: Tenant, _ points: [String]) async throws {
        let response = try await client.send(.post, "/v1/ingest?durability=safe", key: tenant.key, json: #"{"points": [\#(points.joined(separator: ","))]}"#)
        #expect(response.status == .ok, "\(response.text)")
        #expect(try response.object()["accepted"] as? Int == points.count)
    }

    static func point(_ entity: String, _ attribute: String, _ value: String, _ ts: String) -> String {
        #"{"entity": "\#(entity)", "attribute": "\#(attribute)", "value": \#(value), "ts": "\#(ts)"}"#
    }

    /// With lookups as named prepared statements (the default) and as unnamed ones.
    @Test(arguments: [true, false])
    func aLookupAnswersTheLatestHotValuesAndRequestedNonHotOnesWithWhereItCameFrom(prepared: Bool) async throws {
        try await APITester.run(readTopology: .init(poolSize: 4, preparedStatements: prepared)) { client, _ in
            let tenant = try await client.createTenant()
            _ = try await client.send(.put, "/v1/attributes/temp", key: tenant.key, json: #"{"type":"decimal","hot":true}"#)
            _ = try await client.send(.put, "/v1/attributes/status", key: tenant.key, json: #"{"type":"text","hot":true}"#)
            _ = try await client.send(.put, "/v1/attributes/firmware", key: tenant.key, json: #"{"type":"text"}"#)
            try await Self.write(
                client,
                tenant,
                [
                    Self.point("dev-1", "temp", "21.5", "2026-11-20T10:00:00Z"),
                    Self.point("dev-1", "temp", "19.0", "2026-11-20T09:00:00Z"),
                    Self.point("dev-1", "status", #""ok""#, "2026-11-20T10:00:00Z"),
                    Self.point("dev-1", "firmware", #""1.0""#, "2026-11-19T10:00:00Z"),
                    Self.point("dev-1", "firmware", #""1.2""#, "2026-11-20T11:00:00Z"),
                ]
            )
            let response = try await client.send(.get, "/v1/entities/dev-1?attributes=firmware", key: tenant.key)
            #expect(response.status == .ok, "\(response.text)")
            let body = try response.object()
            #expect(body["key"] as? String == "dev-1")
            let attributes = try #require(body["attributes"] as? [String: [String: Any]])
            #expect(attributes["temp"]?["value"] as? Double == 21.5)
            #expect(attributes["temp"]?["ts"] as? String == "2026-11-20T10:00:00.000000Z")
            #expect(attributes["status"]?["value"] as? String == "ok")
            #expect(attributes["firmware"]?["value"] as? String == "1.2")
            #expect(attributes["firmware"]?["ts"] as? String == "2026-11-20T11:00:00.000000Z")
            let meta = try #require(body["meta"] as? [String: Any])
            #expect(meta["source"] as? String == "primary")
            #expect(meta["consistency"] as? String == "eventual")
            #expect(meta["lag_ms"] as? Int == 0)
            #expect(response.headers[HTTPField.Name("X-Tessera-Source")!] == "primary")
            #expect(response.headers[HTTPField.Name("X-Tessera-Lag-Ms")!] == "0")

            // Without the non-hot attribute asked for, only the hot ones come back.
            let plain = try await client.send(.get, "/v1/entities/dev-1?consistency=strong", key: tenant.key).object()
            #expect((plain["attributes"] as? [String: Any])?.keys.sorted() == ["status", "temp"])
            #expect((plain["meta"] as? [String: Any])?["consistency"] as? String == "strong")

            try await client.send(.get, "/v1/entities/nope", key: tenant.key).expectProblem("not_found", .notFound)
            try await client.send(.get, "/v1/entities/dev-1?attributes=nothing", key: tenant.key).expectProblem("unknown_attribute", .badRequest)
            try await client.send(.get, "/v1/entities/dev-1?consistency=sometimes", key: tenant.key).expectProblem("invalid_parameter", .badRequest)
            try await client.send(.get, "/v1/entities/dev-1?min_lsn=banana", key: tenant.key).expectProblem("invalid_parameter", .badRequest)
            try await client.send(.get, "/v1/entities/dev-1", key: tenant.key, headers: [HTTPField.Name("X-Consistency")!: "never"])
                .expectProblem("invalid_parameter", .badRequest)
        }
    }

    @Test func aFilterMatchesHotValuesWithEveryOperatorAndPagesByCursor() async throws {
        try await APITester.run { client in
            let tenant = try await client.createTenant()
            _ = try await client.send(.put, "/v1/attributes/temp", key: tenant.key, json: #"{"type":"decimal","hot":true}"#)
            _ = try await client.send(.put, "/v1/attributes/status", key: tenant.key, json: #"{"type":"text","hot":true}"#)
            _ = try await client.send(.put, "/v1/attributes/cold", key: tenant.key, json: #"{"type":"int"}"#)
            var points = [String]()
            for index in 1...12 {
                let ts = "2026-11-20T10:00:00Z"
                points.append(Self.point("dev-\(index)", "temp", "\(index * 5)", ts))
                if index % 3 != 0 { points.append(Self.point("dev-\(index)", "status", index % 2 == 0 ? #""ok""# : #""fail""#, ts)) }
            }
            try await Self.write(client, tenant, points)

            func keys(_ filter: String, limit: Int = 100, cursor: String? = nil) async throws -> ([String], String?) {
                let cursorText = cursor.map { #", "cursor": "\#($0)""# } ?? ""
                let response = try await client.send(
                    .post,
                    "/v1/query/entities",
                    key: tenant.key,
                    json: #"{"filter": \#(filter), "limit": \#(limit)\#(cursorText)}"#
                )
                #expect(response.status == .ok, "\(filter): \(response.text)")
                let body = try response.object()
                let entities = try #require(body["entities"] as? [[String: Any]])
                return (entities.compactMap { $0["key"] as? String }, body["next_cursor"] as? String)
            }
            // temp = 5 × index
            #expect(try await keys(#"{"attribute": "temp", "op": ">", "value": 45}"#).0.sorted() == ["dev-10", "dev-11", "dev-12"].sorted())
            #expect(try await keys(#"{"attribute": "temp", "op": "<=", "value": 10}"#).0.sorted() == ["dev-1", "dev-2"].sorted())
            #expect(try await keys(#"{"attribute": "temp", "op": "=", "value": 35}"#).0.sorted() == ["dev-7"].sorted())
            #expect(try await keys(#"{"attribute": "status", "op": "=", "value": "ok"}"#).0.sorted() == ["dev-2", "dev-4", "dev-8", "dev-10"].sorted())
            #expect(try await keys(#"{"attribute": "status", "op": "!=", "value": "ok"}"#).0.sorted() == ["dev-1", "dev-5", "dev-7", "dev-11"].sorted())
            #expect(try await keys(#"{"attribute": "status", "op": "exists"}"#).0.count == 8)
            #expect(try await keys(#"{"attribute": "temp", "op": "in", "value": [5, 60, 61]}"#).0.sorted() == ["dev-1", "dev-12"].sorted())
            #expect(
                try await keys(#"{"and": [{"attribute": "temp", "op": ">=", "value": 20}, {"attribute": "status", "op": "=", "value": "fail"}]}"#).0.sorted()
                    == ["dev-5", "dev-7", "dev-11"].sorted()
            )
            #expect(
                try await keys(
                    #"{"or": [{"attribute": "temp", "op": "<", "value": 10}, {"and": [{"attribute": "temp", "op": ">", "value": 55}, {"attribute": "status", "op": "exists"}]}]}"#
                ).0.sorted()
                    == ["dev-1"].sorted()
            )
            // A string never equals a number: no match rather than an error.
            #expect(try await keys(#"{"attribute": "temp", "op": ">", "value": "a"}"#).0.isEmpty)

            // Keyset pages: 12 entities, 5 at a time.
            // (Pages follow entity ids, which follow creation order.)
            let first = try await keys(#"{"attribute": "temp", "op": "exists"}"#, limit: 5)
            let second = try await keys(#"{"attribute": "temp", "op": "exists"}"#, limit: 5, cursor: try #require(first.1))
            let third = try await keys(#"{"attribute": "temp", "op": "exists"}"#, limit: 5, cursor: try #require(second.1))
            #expect(first.0.count == 5)
            #expect(second.0.count == 5)
            #expect(third.0.count == 2)
            let expected: Set<String> = Set((1...12).map { "dev-\($0)" })
            #expect(Set(first.0 + second.0 + third.0) == expected)
            #expect(third.1 == nil)

            // Bad filters are 400s that say why.
            let cold = try await client.send(.post, "/v1/query/entities", key: tenant.key, json: #"{"filter": {"attribute": "cold", "op": "=", "value": 1}}"#)
            #expect(try cold.expectProblem("invalid_body", .badRequest).contains("not a hot attribute"))
            try await client.send(.post, "/v1/query/entities", key: tenant.key, json: #"{"filter": {"attribute": "ghost", "op": "=", "value": 1}}"#)
                .expectProblem("unknown_attribute", .badRequest)
            try await client.send(.post, "/v1/query/entities", key: tenant.key, json: #"{"filter": {"attribute": "temp", "op": "~", "value": 1}}"#)
                .expectProblem("invalid_body", .badRequest)
            try await client.send(
                .post,
                "/v1/query/entities",
                key: tenant.key,
                json: #"{"filter": {"attribute": "temp", "op": ">", "value": 1}, "limit": 5000}"#
            )
            .expectProblem("invalid_body", .badRequest)
            try await client.send(
                .post,
                "/v1/query/entities",
                key: tenant.key,
                json: #"{"filter": {"attribute": "temp", "op": ">", "value": 1}, "cursor": "!!"}"#
            )
            .expectProblem("invalid_parameter", .badRequest)
            try await client.send(.post, "/v1/query/entities", key: tenant.key, json: #"{"filter": "#).expectProblem("invalid_json", .badRequest)
            try await client.send(
                .post,
                "/v1/query/entities",
                key: tenant.key,
                json: #"{"filter": {"attribute": "temp", "op": ">", "value": 1}}"#,
                contentType: "text/csv"
            )
            .expectProblem("unsupported_media_type", .unsupportedMediaType)
        }
    }

    @Test func aTimestampValueReadsTheSameInALookupAndInItsSeries() async throws {
        try await APITester.run { client, dependencies in
            let tenant = try await client.createTenant()
            _ = try await client.send(.put, "/v1/attributes/seen", key: tenant.key, json: #"{"type":"timestamp","hot":true}"#)
            _ = try await client.send(.put, "/v1/attributes/boot", key: tenant.key, json: #"{"type":"timestamp"}"#)
            // Written with an offset, through the flush (fast) and a safe write.
            let fast = try await client.send(
                .post,
                "/v1/ingest",
                key: tenant.key,
                json: #"{"points": [\#(Self.point("dev-1", "seen", #""2026-11-20T10:00:00.5+02:00""#, "2026-11-20T10:00:00Z"))]}"#
            )
            #expect(fast.status == .ok)
            try await Self.write(client, tenant, [Self.point("dev-1", "boot", #""2026-11-19T23:30:00-01:00""#, "2026-11-20T10:00:00Z")])
            let deadline = ContinuousClock.now + .seconds(30)
            while dependencies.ingest.pipeline.unflushedPoints > 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }

            let lookup = try await client.send(.get, "/v1/entities/dev-1?consistency=strong&attributes=boot", key: tenant.key)
            let attributes = try #require(try lookup.object()["attributes"] as? [String: [String: Any]], "\(lookup.text)")
            #expect(attributes["seen"]?["value"] as? String == "2026-11-20T08:00:00.500000Z")
            #expect(attributes["boot"]?["value"] as? String == "2026-11-20T00:30:00.000000Z")
            let series = try await client.send(.get, "/v1/entities/dev-1/series/seen", key: tenant.key).object()
            #expect((series["points"] as? [[String: Any]])?.first?["value"] as? String == "2026-11-20T08:00:00.500000Z")
        }
    }

    @Test func aSeriesComesInTimeOrderAPageAtATime() async throws {
        try await APITester.run { client in
            let tenant = try await client.createTenant()
            _ = try await client.send(.put, "/v1/attributes/load", key: tenant.key, json: #"{"type":"int"}"#)
            var points = [String]()
            for hour in 0..<10 {
                points.append(Self.point("srv-1", "load", "\(hour * 10)", "2026-10-01T0\(hour):00:00Z"))
                points.append(Self.point("srv-2", "load", "1", "2026-10-01T0\(hour):30:00Z"))
            }
            try await Self.write(client, tenant, points)
            let firstPage = try await client.send(
                .get,
                "/v1/entities/srv-1/series/load?from=2026-10-01T02:00:00Z&to=2026-10-01T09:00:00Z&limit=4",
                key: tenant.key
            )
            #expect(firstPage.status == .ok, "\(firstPage.text)")
            let first = try firstPage.object()
            let values = try #require(first["points"] as? [[String: Any]]).compactMap { $0["value"] as? Int }
            #expect(values == [20, 30, 40, 50])
            #expect(first["type"] as? String == "int")
            let cursor = try #require(first["next_cursor"] as? String)
            let second = try await client.send(
                .get,
                "/v1/entities/srv-1/series/load?from=2026-10-01T02:00:00Z&to=2026-10-01T09:00:00Z&limit=4&cursor=\(cursor)",
                key: tenant.key
            ).object()
            #expect(try #require(second["points"] as? [[String: Any]]).compactMap { $0["value"] as? Int } == [60, 70, 80])
            #expect(second["next_cursor"] is NSNull)
            let newestFirst = try await client.send(.get, "/v1/entities/srv-1/series/load?order=desc&limit=2", key: tenant.key).object()
            #expect(
                try #require(newestFirst["points"] as? [[String: Any]]).compactMap { $0["ts"] as? String }
                    == ["2026-10-01T09:00:00.000000Z", "2026-10-01T08:00:00.000000Z"]
            )

            try await client.send(.get, "/v1/entities/srv-1/series/load?limit=0", key: tenant.key).expectProblem("invalid_parameter", .badRequest)
            try await client.send(.get, "/v1/entities/srv-1/series/load?from=soon", key: tenant.key).expectProblem("invalid_parameter", .badRequest)
            try await client.send(.get, "/v1/entities/srv-1/series/ghost", key: tenant.key).expectProblem("unknown_attribute", .badRequest)
            try await client.send(.get, "/v1/entities/nobody/series/load", key: tenant.key).expectProblem("not_found", .notFound)
        }
    }

    @Test func hourlyRollupsKeepDoublesAndLargeIntegersExact() async throws {
        try await APITester.run { client in
            let tenant = try await client.createTenant()
            _ = try await client.send(.put, "/v1/attributes/ratio", key: tenant.key, json: #"{"type":"decimal"}"#)
            _ = try await client.send(.put, "/v1/attributes/total", key: tenant.key, json: #"{"type":"int"}"#)
            try await Self.write(
                client,
                tenant,
                [
                    Self.point("a", "ratio", "0.30000000000000004", "2026-09-01T00:10:00Z"),
                    Self.point("a", "ratio", "0.1", "2026-09-01T00:20:00Z"),
                    Self.point("a", "ratio", "1.0000000000000002", "2026-09-01T00:30:00Z"),
                    Self.point("a", "total", "9007199254740993", "2026-09-01T00:10:00Z"),
                    Self.point("a", "total", "9007199254740993", "2026-09-01T00:20:00Z"),
                ]
            )
            // The hour comes from the rollup; naming the entity forces the points.
            func bucket(_ attribute: String, entities: Bool) async throws -> String {
                let only = entities ? #", "entities": ["a"]"# : ""
                let response = try await client.send(
                    .post,
                    "/v1/query/aggregate",
                    key: tenant.key,
                    json:
                        #"{"attribute": "\#(attribute)", "from": "2026-09-01T00:00:00Z", "to": "2026-09-01T01:00:00Z", "bucket": "1h", "fn": ["min","max","first","last","sum","count"]\#(only)}"#
                )
                #expect(response.status == .ok, "\(response.text)")
                let text = response.text
                return String(text[try #require(text.range(of: #""buckets""#)).lowerBound...])
            }
            // Compared as the JSON text says them (a JSON parser may round the last digit).
            let rolled = try await bucket("ratio", entities: false)
            let raw = try await bucket("ratio", entities: true)
            #expect(rolled.contains(#""first":0.30000000000000004"#), "\(rolled)")
            #expect(rolled.contains(#""last":1.0000000000000002"#), "\(rolled)")
            #expect(rolled.contains(#""max":1.0000000000000002"#), "\(rolled)")
            #expect(rolled.contains(#""min":0.1"#), "\(rolled)")
            #expect(
                rolled.replacingOccurrences(of: #""sum":[0-9.e+-]+"#, with: "", options: .regularExpression)
                    == raw.replacingOccurrences(of: #""sum":[0-9.e+-]+"#, with: "", options: .regularExpression)
            )
            // 2 × (2^53 + 1) as an exact integer, not a double's neighbour of it.
            let ints = try await client.send(
                .post,
                "/v1/query/aggregate",
                key: tenant.key,
                json: #"{"attribute": "total", "from": "2026-09-01T00:00:00Z", "to": "2026-09-01T01:00:00Z", "bucket": "1h", "fn": ["sum", "max"]}"#
            )
            #expect(ints.text.contains("18014398509481986"), "\(ints.text)")
            #expect(ints.text.contains("9007199254740993"), "\(ints.text)")
        }
    }

    @Test func anAggregateBucketsOneAttributeWithEachFunction() async throws {
        try await APITester.run { client in
            let tenant = try await client.createTenant()
            _ = try await client.send(.put, "/v1/attributes/power", key: tenant.key, json: #"{"type":"decimal"}"#)
            _ = try await client.send(.put, "/v1/attributes/label", key: tenant.key, json: #"{"type":"text"}"#)
            // Hour 0: a = 1, 2, 3; b = 10. Hour 1: a = 4.
            try await Self.write(
                client,
                tenant,
                [
                    Self.point("a", "power", "1", "2026-09-01T00:00:00Z"),
                    Self.point("a", "power", "2", "2026-09-01T00:20:00Z"),
                    Self.point("a", "power", "3", "2026-09-01T00:40:00Z"),
                    Self.point("b", "power", "10", "2026-09-01T00:30:00Z"),
                    Self.point("a", "power", "4", "2026-09-01T01:10:00Z"),
                    Self.point("a", "power", "99", "2026-09-01T02:00:00Z"),  // outside [from, to)
                ]
            )
            let request =
                #"{"attribute": "power", "from": "2026-09-01T00:00:00Z", "to": "2026-09-01T02:00:00Z", "bucket": "1h", "fn": ["avg","min","max","sum","count","first","last"]}"#
            let response = try await client.send(.post, "/v1/query/aggregate", key: tenant.key, json: request)
            #expect(response.status == .ok, "\(response.text)")
            let body = try response.object()
            #expect((body["meta"] as? [String: Any])?["consistency"] as? String == "analytics")
            let buckets = try #require(body["buckets"] as? [[String: Any]])
            #expect(buckets.count == 2)
            #expect(buckets.first?["start"] as? String == "2026-09-01T00:00:00.000000Z")
            #expect(buckets.first?["avg"] as? Double == 4)
            #expect(buckets.first?["min"] as? Double == 1)
            #expect(buckets.first?["max"] as? Double == 10)
            #expect(buckets.first?["sum"] as? Double == 16)
            #expect(buckets.first?["count"] as? Int == 4)
            #expect(buckets.first?["first"] as? Double == 1)
            #expect(buckets.first?["last"] as? Double == 3)
            #expect(buckets.last?["count"] as? Int == 1)
            #expect(buckets.last?["sum"] as? Double == 4)

            let perEntity = try await client.send(
                .post,
                "/v1/query/aggregate",
                key: tenant.key,
                json:
                    #"{"attribute": "power", "from": "2026-09-01T00:00:00Z", "to": "2026-09-01T01:00:00Z", "bucket": "1h", "fn": "count", "group_by": "entity"}"#
            ).object()
            let rows = try #require(perEntity["buckets"] as? [[String: Any]])
            #expect(rows.map { "\($0["entity"] ?? "")=\($0["count"] ?? "")" } == ["a=3", "b=1"])
            let onlyB = try await client.send(
                .post,
                "/v1/query/aggregate",
                key: tenant.key,
                json: #"{"attribute": "power", "from": "2026-09-01T00:00:00Z", "to": "2026-09-01T02:00:00Z", "bucket": "1d", "fn": ["sum"], "entities": ["b"]}"#
            ).object()
            #expect((onlyB["buckets"] as? [[String: Any]])?.first?["sum"] as? Double == 10)

            // Whole hours come from the hourly rollups, partial ones from the points:
            // the same answer as reading every point (forced by naming the entities).
            for range in [("00:10", "02:30"), ("00:30", "01:20"), ("00:00", "01:00")] {
                let common =
                    #""attribute": "power", "from": "2026-09-01T\#(range.0):00Z", "to": "2026-09-01T\#(range.1):00Z", "bucket": "1h", "fn": ["avg","min","max","sum","count","first","last"]"#
                let rolled = try await client.send(.post, "/v1/query/aggregate", key: tenant.key, json: "{\(common)}").object()
                let raw = try await client.send(.post, "/v1/query/aggregate", key: tenant.key, json: #"{\#(common), "entities": ["a", "b"]}"#).object()
                let rolledBuckets = try #require(rolled["buckets"] as? [[String: Any]])
                let rawBuckets = try #require(raw["buckets"] as? [[String: Any]])
                #expect(rolledBuckets.count == rawBuckets.count, "\(range)")
                #expect(!rolledBuckets.isEmpty, "\(range)")
                for (left, right) in zip(rolledBuckets, rawBuckets) {
                    #expect((left["count"] as? Int ?? 0) > 0)
                    #expect(left["start"] as? String == right["start"] as? String)
                    for function in ["avg", "min", "max", "sum", "count", "first", "last"] {
                        #expect(left[function] as? Double == right[function] as? Double, "\(range) \(function)")
                    }
                }
            }

            try await client.send(
                .post,
                "/v1/query/aggregate",
                key: tenant.key,
                json: #"{"attribute": "label", "from": "2026-09-01T00:00:00Z", "to": "2026-09-02T00:00:00Z", "bucket": "1h", "fn": ["avg"]}"#
            ).expectProblem("invalid_body", .badRequest)
            let tooMany = try await client.send(
                .post,
                "/v1/query/aggregate",
                key: tenant.key,
                json: #"{"attribute": "power", "from": "2026-01-01T00:00:00Z", "to": "2026-09-01T00:00:00Z", "bucket": "1m"}"#
            )
            #expect(try tooMany.expectProblem("invalid_body", .badRequest).contains("bucket"))
            try await client.send(
                .post,
                "/v1/query/aggregate",
                key: tenant.key,
                json: #"{"attribute": "power", "from": "2000-01-01T00:00:00Z", "to": "2026-09-01T00:00:00Z", "bucket": "7d"}"#
            ).expectProblem("invalid_body", .badRequest)
            try await client.send(
                .post,
                "/v1/query/aggregate",
                key: tenant.key,
                json: #"{"attribute": "ghost", "from": "2026-09-01T00:00:00Z", "to": "2026-09-02T00:00:00Z", "bucket": "1h"}"#
            ).expectProblem("unknown_attribute", .badRequest)
            try await client.send(
                .post,
                "/v1/query/aggregate",
                key: tenant.key,
                json: #"{"attribute": "power", "from": "2026-09-02T00:00:00Z", "to": "2026-09-01T00:00:00Z", "bucket": "1h"}"#
            ).expectProblem("invalid_body", .badRequest)
        }
    }

    @Test func everyReadEndpointIsTenantScoped() async throws {
        try await APITester.run { client in
            let owner = try await client.createTenant("owner")
            let other = try await client.createTenant("other")
            _ = try await client.send(.put, "/v1/attributes/secret", key: owner.key, json: #"{"type":"int","hot":true}"#)
            _ = try await client.send(.put, "/v1/attributes/secret", key: other.key, json: #"{"type":"int","hot":true}"#)
            try await Self.write(client, owner, [Self.point("shared-key", "secret", "42", "2026-11-20T00:00:00Z")])
            try await client.send(.get, "/v1/entities/shared-key", key: other.key).expectProblem("not_found", .notFound)
            try await client.send(.get, "/v1/entities/shared-key/series/secret", key: other.key).expectProblem("not_found", .notFound)
            let filtered = try await client.send(
                .post,
                "/v1/query/entities",
                key: other.key,
                json: #"{"filter": {"attribute": "secret", "op": "=", "value": 42}}"#
            ).object()
            #expect((filtered["entities"] as? [Any])?.isEmpty == true)
            let aggregate = try await client.send(
                .post,
                "/v1/query/aggregate",
                key: other.key,
                json: #"{"attribute": "secret", "from": "2026-11-19T00:00:00Z", "to": "2026-11-21T00:00:00Z", "bucket": "1d", "fn": ["count"]}"#
            ).object()
            #expect((aggregate["buckets"] as? [Any])?.isEmpty == true)
            // The owner sees it; no key at all is a 401.
            #expect(try await client.send(.get, "/v1/entities/shared-key", key: owner.key).status == .ok)
            try await client.send(.get, "/v1/entities/shared-key").expectProblem("unauthorized", .unauthorized)
            try await client.send(.post, "/v1/query/aggregate", json: "{}").expectProblem("unauthorized", .unauthorized)
        }
    }

    /// PostgresNIO keeps a statement whose preparation failed failed for the
    /// connection's life: a lookup that timed out while being prepared (behind a lock)
    /// must not leave its connection answering every later lookup with that error.
    @Test func aLookupWhosePreparationTimedOutDoesNotBreakItsConnection() async throws {
        let database = try await TestCluster.freshDatabase()
        try await withTestClient(url: database) { client in
            _ = try await Migrator(client: client, logger: quietLogger).migrate()
        }
        // One read connection, so the second lookup runs where the first one failed.
        let topology = ServerDependencies.ReadTopology(
            poolSize: 1,
            router: .init(statementTimeoutMilliseconds: [.strong: 300, .eventual: 300, .analytics: 300])
        )
        try await APITester.run(primary: database, readTopology: topology) { client, dependencies in
            let tenant = try await client.createTenant()
            _ = try await client.send(.put, "/v1/attributes/temp", key: tenant.key, json: #"{"type":"decimal","hot":true}"#)
            try await Self.write(client, tenant, [Self.point("dev-1", "temp", "21.5", "2026-11-20T10:00:00Z")])
            try await dependencies.primary.withConnection { locker in
                try await locker.query("BEGIN", logger: quietLogger)
                try await locker.query("LOCK TABLE entity_jsonb IN ACCESS EXCLUSIVE MODE", logger: quietLogger)
                try await client.send(.get, "/v1/entities/dev-1", key: tenant.key).expectProblem("timeout", .gatewayTimeout)
                try await locker.query("ROLLBACK", logger: quietLogger)
            }
            let response = try await client.send(.get, "/v1/entities/dev-1", key: tenant.key)
            #expect(response.status == .ok, "\(response.text)")
            #expect(((try response.object()["attributes"] as? [String: [String: Any]])?["temp"]?["value"]) as? Double == 21.5)
            #expect(dependencies.reads.preparedStatements.refusedConnections == 1)
        }
    }

    @Test func aReadPastItsStatementTimeoutIsA504AndIsCancelled() async throws {
        let topology = ServerDependencies.ReadTopology(
            poolSize: 2,
            router: .init(statementTimeoutMilliseconds: [.strong: 5_000, .eventual: 5_000, .analytics: 1])
        )
        try await APITester.run(readTopology: topology) { client, dependencies in
            let tenant = try await client.createTenant()
            _ = try await client.send(.put, "/v1/attributes/v", key: tenant.key, json: #"{"type":"decimal"}"#)
            try await Self.write(client, tenant, [Self.point("e", "v", "1", "2026-11-01T00:00:00Z")])
            // The read pool's connections made first (a slow connect under load is a node
            // failure, a 503, not the timeout this test is about).
            for _ in 0..<2 { _ = try await client.send(.get, "/v1/entities/e?consistency=strong", key: tenant.key) }
            // 300k points in one month, straight into the series: far more than 1 ms of work.
            try await dependencies.primary.query(
                """
                INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, value_decimal, ts)
                SELECT e.tenant_id, e.entity_id, a.attribute_id, g, timestamptz '2026-11-01' + g * interval '1 second'
                  FROM entities e JOIN attributes a ON a.tenant_id = e.tenant_id AND a.name = 'v', generate_series(1, 300000) g
                 WHERE e.tenant_id = \(Int64(tenant.id)) AND e.external_key = 'e'
                """
            )
            let response = try await client.send(
                .post,
                "/v1/query/aggregate",
                key: tenant.key,
                json:
                    #"{"attribute": "v", "from": "2026-11-01T00:00:00Z", "to": "2026-11-10T00:00:00Z", "bucket": "1h", "fn": ["avg", "last"], "entities": ["e"]}"#
            )
            #expect(try response.expectProblem("timeout", .gatewayTimeout).contains("cancelled"))
            // The same read with a consistency that allows 5 s answers.
            let strong = try await client.send(
                .post,
                "/v1/query/aggregate?consistency=strong",
                key: tenant.key,
                json: #"{"attribute": "v", "from": "2026-11-01T00:00:00Z", "to": "2026-11-10T00:00:00Z", "bucket": "1d", "fn": ["count"], "entities": ["e"]}"#
            ).object()
            let counts = try #require(strong["buckets"] as? [[String: Any]]).compactMap { $0["count"] as? Int }
            #expect(counts.reduce(0, +) == 300_001)
        }
    }
}

@Suite struct EntityDeleteTests {
    @Test func aDeletedEntityIsNeverServedAgainUntilItIsWrittenAnew() async throws {
        try await APITester.run { client in
            let tenant = try await client.createTenant()
            _ = try await client.send(.put, "/v1/attributes/temp", key: tenant.key, json: #"{"type":"decimal","hot":true}"#)
            try await ReadAPITests.write(
                client,
                tenant,
                [
                    ReadAPITests.point("gone", "temp", "50", "2026-11-20T10:00:00Z"),
                    ReadAPITests.point("kept", "temp", "50", "2026-11-20T10:00:00Z"),
                ]
            )
            let deleted = try await client.send(.delete, "/v1/entities/gone", key: tenant.key)
            #expect(deleted.status == .noContent)
            #expect(deleted.headers[HTTPField.Name("X-Tessera-Commit-LSN")!] != nil)
            try await client.send(.get, "/v1/entities/gone?consistency=strong", key: tenant.key).expectProblem("not_found", .notFound)
            try await client.send(.get, "/v1/entities/gone/series/temp?consistency=strong", key: tenant.key).expectProblem("not_found", .notFound)
            let filtered = try await client.send(
                .post,
                "/v1/query/entities?consistency=strong",
                key: tenant.key,
                json: #"{"filter": {"attribute": "temp", "op": "=", "value": 50}}"#
            ).object()
            #expect((filtered["entities"] as? [[String: Any]])?.compactMap { $0["key"] as? String } == ["kept"])
            let aggregate = try await client.send(
                .post,
                "/v1/query/aggregate?consistency=strong",
                key: tenant.key,
                json: #"{"attribute": "temp", "from": "2026-11-20T00:00:00Z", "to": "2026-11-21T00:00:00Z", "bucket": "1d", "fn": ["count"]}"#
            ).object()
            #expect((aggregate["buckets"] as? [[String: Any]])?.first?["count"] as? Int == 1)
            try await client.send(.delete, "/v1/entities/gone", key: tenant.key).expectProblem("not_found", .notFound)
            // Written again, it comes back with only the new point.
            try await ReadAPITests.write(client, tenant, [ReadAPITests.point("gone", "temp", "7", "2026-11-21T10:00:00Z")])
            let back = try await client.send(.get, "/v1/entities/gone?consistency=strong", key: tenant.key).object()
            #expect(((back["attributes"] as? [String: Any])?["temp"] as? [String: Any])?["value"] as? Double == 7)
            let series = try await client.send(.get, "/v1/entities/gone/series/temp?consistency=strong", key: tenant.key).object()
            #expect((series["points"] as? [Any])?.count == 1)
        }
    }
}
