import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import TesseraServer
import TesseraStore
import Testing

/// The write path end to end: HTTP in, rows in the real time series and projection out.
@Suite struct IngestAPITests {
    @Test func jsonPointsLandInTheSeriesAndTheProjectionNeverGoesBackwards() async throws {
        try await APITester.run { client, dependencies in
            let tenant = try await client.createTenant()
            #expect(try await client.send(.put, "/v1/attributes/temp", key: tenant.key, json: #"{"type":"decimal","hot":true}"#).status == .created)
            let body = """
                {"points": [
                  {"entity": "dev-1", "attribute": "temp", "value": 21.5, "ts": "2026-11-25T10:00:00.000Z"},
                  {"entity": "dev-1", "attribute": "temp", "value": 19.0, "ts": "2026-11-25T09:00:00Z"},
                  {"entity": "dev-2", "attribute": "temp", "value": 7, "ts": 1764064800123}
                ]}
                """
            let response = try await client.send(.post, "/v1/ingest", key: tenant.key, json: body)
            #expect(response.status == .ok, "\(response.text)")
            let result = try response.object()
            #expect(result["accepted"] as? Int == 3)
            #expect((result["rejected"] as? [Any])?.isEmpty == true)

            try await waitForRows(dependencies.primary, tenant: tenant.id, count: 3)
            let latest = try await projection(dependencies.primary, tenant: tenant.id, key: "dev-1")
            #expect(latest == #"{"temp": 21.5}"#)
            // A late, older point is stored but does not replace the newer value.
            let late = try await client.send(
                .post,
                "/v1/ingest",
                key: tenant.key,
                json: #"{"points":[{"entity":"dev-1","attribute":"temp","value":-40,"ts":"2026-11-25T08:00:00Z"}]}"#
            )
            #expect(try late.object()["accepted"] as? Int == 1)
            try await waitForRows(dependencies.primary, tenant: tenant.id, count: 4)
            #expect(try await projection(dependencies.primary, tenant: tenant.id, key: "dev-1") == #"{"temp": 21.5}"#)
            #expect(try await projection(dependencies.primary, tenant: tenant.id, key: "dev-2") == #"{"temp": 7}"#)
        }
    }

    @Test func badPointsAreRejectedOneByOneAndTheGoodOnesKept() async throws {
        try await APITester.run { client, dependencies in
            let tenant = try await client.createTenant()
            #expect(try await client.send(.put, "/v1/attributes/count", key: tenant.key, json: #"{"type":"int"}"#).status == .created)
            let bigText = String(repeating: "x", count: 70_000)
            let body = """
                {"points": [
                  {"entity": "ok-1", "attribute": "count", "value": 1},
                  {"entity": "ok-1", "attribute": "count", "value": "seven"},
                  {"entity": "ok-1", "attribute": "count", "value": 1.5},
                  {"entity": "bad\\u0001key", "attribute": "count", "value": 2},
                  {"entity": "ok-1", "attribute": "count", "value": 3, "ts": "yesterday"},
                  {"entity": "ok-1", "attribute": "count", "value": 4, "ts": "2999-01-01T00:00:00Z"},
                  {"entity": "ok-1", "attribute": "count", "value": null},
                  {"entity": "ok-1", "attribute": "note", "value": "\(bigText)"},
                  {"entity": "ok-1", "value": 5},
                  {"entity": "ok-1", "attribute": "count", "value": 99999999999999999999},
                  {"entity": "ok-2", "attribute": "count", "value": 6}
                ]}
                """
            let response = try await client.send(.post, "/v1/ingest", key: tenant.key, json: body)
            #expect(response.status == .ok, "\(response.text)")
            let result = try response.object()
            #expect(result["accepted"] as? Int == 2)
            let rejected = try #require(result["rejected"] as? [[String: Any]])
            let codes = Dictionary(uniqueKeysWithValues: rejected.map { ($0["index"] as! Int, $0["code"] as! String) })
            #expect(
                codes == [
                    1: "type_mismatch", 2: "type_mismatch", 3: "invalid_name", 4: "invalid_timestamp",
                    5: "timestamp_out_of_range", 6: "invalid_value", 7: "invalid_value", 8: "invalid_point", 9: "invalid_value",
                ]
            )
            try await waitForRows(dependencies.primary, tenant: tenant.id, count: 2)
        }
    }

    @Test func ndjsonAndLineProtocolBodiesAreAccepted() async throws {
        try await APITester.run { client, dependencies in
            let tenant = try await client.createTenant()
            let ndjson = """
                {"entity":"a","attribute":"level","value":1.5}
                not json
                {"entity":"b","attribute":"level","value":2.5}

                """
            let first = try await client.send(.post, "/v1/ingest", key: tenant.key, json: ndjson, contentType: "application/x-ndjson")
            #expect(first.status == .ok, "\(first.text)")
            let result = try first.object()
            #expect(result["accepted"] as? Int == 2)
            #expect((result["rejected"] as? [[String: Any]])?.first?["index"] as? Int == 2)

            let lines =
                "weather,station=Dongsi,city=Beijing temp=3.5,humidity=40i,ok=true 1764064800\n"
                + "weather,station=Dongsi,city=Beijing temp=\"warm\" 1764064801\n"
            let second = try await client.send(.post, "/v1/ingest?precision=s", key: tenant.key, json: lines, contentType: "text/plain")
            #expect(second.status == .ok, "\(second.text)")
            let lp = try second.object()
            #expect(lp["accepted"] as? Int == 3)
            #expect((lp["rejected"] as? [[String: Any]])?.first?["code"] as? String == "type_mismatch")
            // Entity key = measurement plus sorted tags; fields became typed attributes.
            #expect(try await client.send(.get, "/v1/entities/weather%2Ccity%3DBeijing%2Cstation%3DDongsi", key: tenant.key).status == .ok)
            let attributes = try await client.send(.get, "/v1/attributes", key: tenant.key).object()["attributes"] as? [[String: Any]] ?? []
            let types = Dictionary(uniqueKeysWithValues: attributes.map { ($0["name"] as! String, $0["type"] as! String) })
            #expect(types == ["level": "decimal", "temp": "decimal", "humidity": "int", "ok": "bool"])
            try await waitForRows(dependencies.primary, tenant: tenant.id, count: 5)
        }
    }

    @Test func safeDurabilityIsInTheSeriesWhenAcknowledged() async throws {
        try await APITester.run { client, dependencies in
            let tenant = try await client.createTenant()
            #expect(try await client.send(.put, "/v1/attributes/valve", key: tenant.key, json: #"{"type":"bool","hot":true}"#).status == .created)
            let response = try await client.send(
                .post,
                "/v1/ingest?durability=safe",
                key: tenant.key,
                json: #"{"points":[{"entity":"pump-1","attribute":"valve","value":true},{"entity":"pump-2","attribute":"valve","value":false}]}"#
            )
            #expect(try response.object()["durability"] as? String == "safe")
            // No waiting for a flush: it is there already.
            #expect(try await rowCount(dependencies.primary, tenant: tenant.id) == 2)
            #expect(try await projection(dependencies.primary, tenant: tenant.id, key: "pump-1") == #"{"valve": true}"#)
        }
    }

    @Test func backfilledPointsGetTheirOwnMonthsPartition() async throws {
        try await APITester.run { client, dependencies in
            let tenant = try await client.createTenant()
            let response = try await client.send(
                .post,
                "/v1/ingest",
                key: tenant.key,
                json: #"{"points":[{"entity":"old","attribute":"pm25","value":88,"ts":"2014-03-01T12:00:00Z"}]}"#
            )
            #expect(try response.object()["accepted"] as? Int == 1)
            try await waitForRows(dependencies.primary, tenant: tenant.id, count: 1)
            let rows = try await dependencies.primary.query("SELECT count(*) FROM entity_values_ts_p201403 WHERE tenant_id = \(tenant.id)")
            for try await count in rows.decode(Int.self) { #expect(count == 1) }
        }
    }

    @Test func requestsThatCarryNothingUsableAre4xx() async throws {
        try await APITester.run { client in
            let tenant = try await client.createTenant()
            try await client.send(.post, "/v1/ingest", key: tenant.key, json: #"{"points":[{"entity":"a","attribute":"t","value":1},"#)
                .expectProblem("invalid_json", .badRequest)
            try await client.send(.post, "/v1/ingest", key: tenant.key, json: #"[1,2,3]"#).expectProblem("invalid_json", .badRequest)
            try await client.send(.post, "/v1/ingest", key: tenant.key, json: #"{"points":[{"entity":"a"}]}"#)
                .expectProblem("no_valid_points", .badRequest)
            try await client.send(.post, "/v1/ingest", key: tenant.key, json: "a=1", contentType: "application/x-www-form-urlencoded")
                .expectProblem("unsupported_media_type", .unsupportedMediaType)
            try await client.send(.post, "/v1/ingest?durability=maybe", key: tenant.key, json: #"{"points":[]}"#)
                .expectProblem("invalid_parameter", .badRequest)
            try await client.send(.post, "/v1/ingest?precision=weeks", key: tenant.key, json: "m v=1", contentType: "text/plain")
                .expectProblem("invalid_parameter", .badRequest)
            try await client.send(.post, "/v1/ingest", json: #"{"points":[]}"#).expectProblem("unauthorized", .unauthorized)
        }
    }

    @Test func anOversizedBodyIs413() async throws {
        try await APITester.run(maxIngestBodyBytes: 64 * 1024) { client in
            let tenant = try await client.createTenant()
            let line = #"{"entity":"e","attribute":"v","value":1.0}"# + "\n"
            try await client.send(.post, "/v1/ingest", key: tenant.key, json: String(repeating: line, count: 3_000), contentType: "application/x-ndjson")
                .expectProblem("body_too_large", .contentTooLarge)
        }
    }

    @Test func aTenantThatDoesNotAutoCreateGetsUnknownAttribute() async throws {
        try await APITester.run { client in
            let name = "strict-\(UUID().uuidString.prefix(8))"
            let created = try await client.send(.post, "/v1/tenants", key: APITester.adminToken, json: #"{"name":"\#(name)","auto_create_attributes":false}"#)
            let key = try #require(try created.object()["api_key"] as? String)
            let response = try await client.send(.post, "/v1/ingest", key: key, json: #"{"points":[{"entity":"a","attribute":"new","value":1}]}"#)
            let detail = try response.expectProblem("no_valid_points", .badRequest)
            #expect(detail.contains("does not exist"))
        }
    }
}

func rowCount(_ client: PostgresClient, tenant: Int) async throws -> Int {
    let rows = try await client.query("SELECT count(*) FROM entity_values_ts WHERE tenant_id = \(tenant)")
    for try await count in rows.decode(Int.self) { return count }
    return 0
}

/// Waits (up to 10 s) until the flusher has moved `count` rows of the tenant into the series.
func waitForRows(_ client: PostgresClient, tenant: Int, count: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let deadline = ContinuousClock.now + .seconds(10)
    var seen = 0
    while ContinuousClock.now < deadline {
        seen = try await rowCount(client, tenant: tenant)
        if seen >= count { break }
        try await Task.sleep(for: .milliseconds(50))
    }
    #expect(seen == count, "rows in the time series", sourceLocation: sourceLocation)
}

func projection(_ client: PostgresClient, tenant: Int, key: String) async throws -> String? {
    let rows = try await client.query(
        """
        SELECT p.attrs::text FROM entity_jsonb p JOIN entities e USING (tenant_id, entity_id)
         WHERE p.tenant_id = \(tenant) AND e.external_key = \(key)
        """
    )
    for try await text in rows.decode(String.self) { return text }
    return nil
}
