import Foundation
import HTTPTypes
import HummingbirdTesting
import TesseraCore
import TesseraServer
import Testing

/// The edge's promise as a property: whatever the server accepts (random points of
/// every type, with the values at the edges of the rules), a real PostgreSQL stores,
/// and every read path returns it: no later step fails, and nothing is answered with a 5xx.
@Suite struct AcceptedIsStoredPropertyTests {
    /// A small seeded generator (SplitMix64), so a failure replays with its seed.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            self.state &+= 0x9E37_79B9_7F4A_7C15
            var z = self.state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func pick<T>(_ items: [T]) -> T { items[Int(self.next() % UInt64(items.count))] }
    }

    static let attributes = ["i": "int", "d": "decimal", "s": "text", "b": "bool", "t": "timestamp", "j": "json"]

    static func value(of type: String, _ random: inout Random) -> String {
        switch type {
        case "int": random.pick(["0", "-9223372036854775808", "9223372036854775807", "42", "-1", "9007199254740993"])
        case "decimal": random.pick(["1e250", "-1e250", "5e-324", "-0.0", "2.2250738585072014e-308", "9.99e249", "3.141592653589793"])
        case "text":
            random.pick([
                #""""#, #""tab\tnew\nline\\back\\slash""#, #""\u00e9\u0301 \ud83d\ude00 \u2028""#, #""\\N""#, #""\\.""#,
                "\"" + String(repeating: "x", count: 65_536) + "\"",
            ])
        case "bool": random.pick(["true", "false"])
        case "timestamp":
            random.pick([
                #""0001-01-01T00:00:00Z""#, #""9999-12-31T23:59:59.999999Z""#, #""2026-11-25T10:00:00+14:00""#,
                "-62135596800000", "253402300799999", "0",
            ])
        default:
            random.pick([
                #"{"a":[1e-300,1e300,-0,"\u00e9"],"b":{"c":null}}"#, #"[]"#, #"{}"#, #"[1e-16383]"#,
                #"{"k":"\\N\t"}"#, #"[9223372036854775808,-1.5e-10]"#, #""just a string""#, "null",
            ])
        }
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func whateverIsAcceptedIsStoredAndReadBack(seed: UInt64) async throws {
        try await APITester.run { client, dependencies in
            let tenant = try await client.createTenant("property")
            for (name, type) in Self.attributes {
                #expect(try await client.send(.put, "/v1/attributes/\(name)", key: tenant.key, json: #"{"type":"\#(type)","hot":true}"#).status == .created)
            }
            var random = Random(state: seed)
            let now = Int64(Date().timeIntervalSince1970 * 1_000)
            var points = [String]()
            for index in 0..<120 {
                let name = random.pick(Array(Self.attributes.keys).sorted())
                let entity = "e-\(random.next() % 7)"
                // Times from the horizon's start (2013 is inside it) to a day ahead, each its own.
                let ts = random.pick([1_362_096_000_000 + Int64(index), now - Int64(index) * 1_000, now + 86_000_000 - Int64(index)])
                points.append(#"{"entity":"\#(entity)","attribute":"\#(name)","value":\#(Self.value(of: Self.attributes[name]!, &random)),"ts":\#(ts)}"#)
            }
            var accepted = 0
            for durability in ["fast", "safe"] {
                let half = durability == "fast" ? points[..<60] : points[60...]
                let response = try await client.send(
                    .post,
                    "/v1/ingest?durability=\(durability)",
                    key: tenant.key,
                    json: #"{"points":[\#(half.joined(separator: ","))]}"#
                )
                #expect(response.status == .ok, "\(response.text.prefix(500))")
                accepted += try response.object()["accepted"] as? Int ?? 0
            }
            // Only the JSON nulls are refused ("null is not a value").
            let nulls = points.filter { $0.contains(#""value":null"#) }.count
            #expect(accepted == points.count - nulls)
            try await waitForRows(dependencies.primary, tenant: tenant.id, count: accepted)

            for entity in (0..<7).map({ "e-\($0)" }) {
                let lookup = try await client.send(.get, "/v1/entities/\(entity)?consistency=strong", key: tenant.key)
                #expect(lookup.status == .ok || lookup.status == .notFound, "\(lookup.text.prefix(300))")
                for name in Self.attributes.keys {
                    let series = try await client.send(.get, "/v1/entities/\(entity)/series/\(name)?consistency=strong&limit=10000", key: tenant.key)
                    #expect(series.status.code < 500, "\(series.text.prefix(300))")
                }
            }
            var seriesPoints = 0
            for entity in (0..<7).map({ "e-\($0)" }) {
                for name in Self.attributes.keys {
                    let series = try await client.send(
                        .get,
                        "/v1/entities/\(entity)/series/\(name)?consistency=strong&limit=10000&from=0001-01-01T00:00:00Z",
                        key: tenant.key
                    )
                    if series.status == .ok { seriesPoints += (try series.object()["points"] as? [Any])?.count ?? 0 }
                }
            }
            #expect(seriesPoints == accepted, "points read back through the series")
            for name in ["i", "d"] {
                let aggregate = try await client.send(
                    .post,
                    "/v1/query/aggregate?consistency=strong",
                    key: tenant.key,
                    json:
                        #"{"attribute":"\#(name)","from":"2013-01-01T00:00:00Z","to":"2013-12-01T00:00:00Z","bucket":"30d","fn":["avg","sum","min","max","count","first","last"]}"#
                )
                #expect(aggregate.status == .ok, "\(aggregate.text.prefix(300))")
                let hourly = try await client.send(
                    .post,
                    "/v1/query/aggregate?consistency=strong",
                    key: tenant.key,
                    json: #"{"attribute":"\#(name)","from":"2013-03-01T00:00:00Z","to":"2013-03-01T02:00:00Z","bucket":"1h"}"#
                )
                #expect(hourly.status == .ok, "\(hourly.text.prefix(300))")
            }
            let filter = try await client.send(
                .post,
                "/v1/query/entities?consistency=strong",
                key: tenant.key,
                json: #"{"filter":{"attribute":"d","op":"<","value":1e250},"limit":1000}"#
            )
            #expect(filter.status == .ok, "\(filter.text.prefix(300))")
        }
    }
}
