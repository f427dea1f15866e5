import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import TesseraServer
import TesseraStore
import Testing

/// Values that passed validation once and broke a later step for every tenant: each is
/// now refused for its point alone, and a tenant writing beside them is not held up.
@Suite struct PoisonValueTests {
    @Test func eachPoisonValueIsRefusedPerPointAndAnotherTenantFlows() async throws {
        try await APITester.run { client, dependencies in
            let tenant = try await client.createTenant("poison")
            let other = try await client.createTenant("neighbour")
            for (name, type) in [("d", "decimal"), ("t", "timestamp"), ("j", "json"), ("s", "text")] {
                #expect(try await client.send(.put, "/v1/attributes/\(name)", key: tenant.key, json: #"{"type":"\#(type)","hot":true}"#).status == .created)
            }
            let body = #"""
                {"points": [
                  {"entity": "e", "attribute": "d", "value": 1e308, "ts": "2026-11-01T10:00:00Z"},
                  {"entity": "e", "attribute": "d", "value": -1e308, "ts": "2026-11-01T10:00:01Z"},
                  {"entity": "e", "attribute": "t", "value": "0000-06-01T00:00:00Z"},
                  {"entity": "e", "attribute": "t", "value": -9223372036854000},
                  {"entity": "e", "attribute": "j", "value": {"a": "x\u0000y"}},
                  {"entity": "e", "attribute": "j", "value": {"k\u0000": 1}},
                  {"entity": "e", "attribute": "j", "value": [1e200000]},
                  {"entity": "e", "attribute": "j", "value": [1e-16384]},
                  {"entity": "e", "attribute": "j", "value": [1e131000]},
                  {"entity": "e", "attribute": "s", "value": "a\u0000b"},
                  {"entity": "e", "attribute": "d", "value": 1, "ts": -9223372036854000},
                  {"entity": "e", "attribute": "d", "value": 2.5, "ts": "2026-11-01T10:00:00Z"}
                ]}
                """#
            // The neighbour writes while the poison arrives.
            async let neighbour = client.send(
                .post,
                "/v1/ingest",
                key: other.key,
                json: #"{"points":[{"entity":"n","attribute":"v","value":7}]}"#
            )
            let response = try await client.send(.post, "/v1/ingest", key: tenant.key, json: body)
            #expect(response.status == .ok, "\(response.text)")
            let result = try response.object()
            #expect(result["accepted"] as? Int == 1)
            let rejected = try #require(result["rejected"] as? [[String: Any]])
            #expect(rejected.compactMap { $0["index"] as? Int }.sorted() == Array(0...10))
            let codes = Dictionary(uniqueKeysWithValues: rejected.map { ($0["index"] as! Int, $0["code"] as! String) })
            for index in [0, 1, 2, 4, 5, 6, 7, 8, 9] { #expect(codes[index] == "invalid_value", "point \(index): \(codes[index] ?? "-")") }
            #expect(codes[3] == "type_mismatch")
            #expect(codes[10] == "invalid_timestamp")

            let acknowledged = try await neighbour
            #expect(acknowledged.status == .ok)
            // Alone, ~0.1-0.2 s (a flush interval); the bound leaves room for the whole suite
            // running on two cores.
            let acknowledgedAt = ContinuousClock.now
            let readable = acknowledgedAt + .seconds(5)
            var stored = 0
            while ContinuousClock.now < readable, stored == 0 {
                stored = try await rowCount(dependencies.primary, tenant: other.id)
                if stored == 0 { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(stored == 1, "the neighbour's point was not stored within 5 s of its acknowledgement")
            try await waitForRows(dependencies.primary, tenant: tenant.id, count: 1)
        }
    }

    @Test func lineProtocolTimestampsAtTheEdgesOfTheirRangeAreRefusedNotFatal() async throws {
        try await APITester.run { client, dependencies in
            let tenant = try await client.createTenant("lp-edge")
            let lines = """
                m f=1 -9223372036854775806
                m f=2 9223372036854775806
                m f=3 -9223372036854775806
                m f=4 1764064800000000000
                """
            let response = try await client.send(.post, "/write?db=x", key: tenant.key, json: lines, contentType: "text/plain")
            #expect(response.status == .badRequest, "\(response.text)")
            #expect(response.text.contains("dropped=3"))
            try await waitForRows(dependencies.primary, tenant: tenant.id, count: 1)
        }
    }

    @Test func queryValuesPostgreSQLCannotTakeAreA400() async throws {
        try await APITester.run { client, _ in
            let tenant = try await client.createTenant("query-edge")
            #expect(try await client.send(.put, "/v1/attributes/d", key: tenant.key, json: #"{"type":"decimal","hot":true}"#).status == .created)
            let write = try await client.send(
                .post,
                "/v1/ingest?durability=safe",
                key: tenant.key,
                json:
                    #"{"points":[{"entity":"e","attribute":"d","value":1e249,"ts":"2026-01-01T00:00:00Z"},{"entity":"e","attribute":"d","value":-1e249,"ts":"2026-01-01T00:00:01Z"},{"entity":"e","attribute":"d","value":4,"ts":"2026-01-01T00:00:02Z"}]}"#
            )
            #expect(try write.object()["accepted"] as? Int == 3)
            // A cursor at the end of Int64's range (crashed the server), and bounds in year 0.
            try await client.send(.get, "/v1/entities/e/series/d?cursor=dDotOTIyMzM3MjAzNjg1NDc3NTgwOA", key: tenant.key)
                .expectProblem("invalid_parameter", .badRequest)
            try await client.send(.get, "/v1/entities/e/series/d?from=0000-01-01T00:00:00Z", key: tenant.key)
                .expectProblem("invalid_parameter", .badRequest)
            try await client.send(.post, "/v1/query/entities", key: tenant.key, json: #"{"filter":{"attribute":"d","op":"=","value":"a\u0000b"}}"#)
                .expectProblem("invalid_body", .badRequest)
            try await client.send(.post, "/v1/query/entities", key: tenant.key, json: #"{"filter":{"attribute":"d","op":"<","value":1e-20000}}"#)
                .expectProblem("invalid_body", .badRequest)
            // Large values of opposite signs in one bucket: avg, sum and the rest answer.
            let aggregate = try await client.send(
                .post,
                "/v1/query/aggregate?consistency=strong",
                key: tenant.key,
                json: #"{"attribute":"d","from":"2026-01-01T00:00:00Z","to":"2026-01-01T01:00:00Z","bucket":"30m","fn":["avg","sum","count","max"]}"#
            )
            #expect(aggregate.status == .ok, "\(aggregate.text)")
            let bucket = try #require((try aggregate.object()["buckets"] as? [[String: Any]])?.first)
            #expect(bucket["count"] as? Int == 3)
            #expect(bucket["max"] as? Double == 1e249)
        }
    }

    @Test func aPointWrittenAgainIsStoredOnceWithItsLastValue() async throws {
        try await APITester.run { client, dependencies in
            let tenant = try await client.createTenant("idempotent")
            #expect(try await client.send(.put, "/v1/attributes/v", key: tenant.key, json: #"{"type":"decimal","hot":true}"#).status == .created)
            func write(_ value: Double, durability: String) async throws {
                let body =
                    #"{"points":[{"entity":"e","attribute":"v","value":\#(value),"ts":"2026-11-01T10:00:00Z"},{"entity":"e","attribute":"v","value":1,"ts":"2026-11-01T10:30:00Z"}]}"#
                let response = try await client.send(.post, "/v1/ingest?durability=\(durability)", key: tenant.key, json: body)
                #expect(try response.object()["accepted"] as? Int == 2)
            }
            try await write(10, durability: "fast")
            try await DeletedEntityWriteTests.waitUntilFlushed(dependencies)
            // The client's retry, then a correction of the same point, then both in one batch.
            try await write(10, durability: "fast")
            try await write(20, durability: "safe")
            let both =
                #"{"points":[{"entity":"e","attribute":"v","value":30,"ts":"2026-11-01T10:00:00Z"},{"entity":"e","attribute":"v","value":40,"ts":"2026-11-01T10:00:00Z"}]}"#
            #expect(try await client.send(.post, "/v1/ingest", key: tenant.key, json: both).status == .ok)
            try await DeletedEntityWriteTests.waitUntilFlushed(dependencies)

            #expect(try await rowCount(dependencies.primary, tenant: tenant.id) == 2)
            let series = try await client.send(.get, "/v1/entities/e/series/v?consistency=strong", key: tenant.key)
            let points = try #require(try series.object()["points"] as? [[String: Any]])
            #expect(points.map { $0["value"] as? Double } == [40, 1])
            // The rollup of the hour is exact: the replaced values are gone from it.
            let aggregate = try await client.send(
                .post,
                "/v1/query/aggregate?consistency=strong",
                key: tenant.key,
                json: #"{"attribute":"v","from":"2026-11-01T10:00:00Z","to":"2026-11-01T11:00:00Z","bucket":"1h","fn":["count","sum","min","max"]}"#
            )
            let bucket = try #require((try aggregate.object()["buckets"] as? [[String: Any]])?.first)
            #expect(bucket["count"] as? Int == 2)
            #expect(bucket["sum"] as? Double == 41)
            #expect(bucket["min"] as? Double == 1)
            #expect(bucket["max"] as? Double == 40)
        }
    }

    /// A series cursor holds a time: exact, since a series has one point a time (points
    /// written again at the same time replace it), so no page boundary skips a point.
    @Test func seriesPagesLoseNoPointWhenPointsShareATime() async throws {
        try await APITester.run { client, _ in
            let tenant = try await client.createTenant("pages")
            #expect(try await client.send(.put, "/v1/attributes/v", key: tenant.key, json: #"{"type":"int"}"#).status == .created)
            for value in 1...6 {
                let ts = ["2026-11-01T00:00:00Z", "2026-11-01T00:00:01Z", "2026-11-01T00:00:02Z"][value % 3]
                let body = #"{"points":[{"entity":"e","attribute":"v","value":\#(value),"ts":"\#(ts)"}]}"#
                #expect(try await client.send(.post, "/v1/ingest?durability=safe", key: tenant.key, json: body).status == .ok)
            }
            var values = [Int]()
            var cursor: String?
            repeat {
                let page = try await client.send(
                    .get,
                    "/v1/entities/e/series/v?consistency=strong&limit=1" + (cursor.map { "&cursor=\($0)" } ?? ""),
                    key: tenant.key
                )
                let object = try page.object()
                values += (object["points"] as? [[String: Any]] ?? []).compactMap { $0["value"] as? Int }
                cursor = object["next_cursor"] as? String
            } while cursor != nil && values.count < 10
            // The last write of each time: 6 (ts 0), 4 (ts 1), 5 (ts 2).
            #expect(values == [6, 4, 5])
        }
    }
}
