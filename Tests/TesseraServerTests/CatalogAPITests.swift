import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite struct AttributeAPITests {
    @Test func putCreatesThenUpdatesAndListsTheAttribute() async throws {
        try await APITester.run { client in
            let tenant = try await client.createTenant()
            let created = try await client.send(
                .put,
                "/v1/attributes/temperature",
                key: tenant.key,
                json: #"{"type":"decimal","hot":true,"unit":"°C","description":"air temperature"}"#
            )
            #expect(created.status == .created)
            let first = try created.object()
            #expect(first["type"] as? String == "decimal")
            #expect(first["hot"] as? Bool == true)
            #expect(first["critical"] as? Bool == false)
            #expect(first["unit"] as? String == "°C")

            let updated = try await client.send(.put, "/v1/attributes/temperature", key: tenant.key, json: #"{"type":"decimal","critical":true}"#)
            #expect(updated.status == .ok)
            #expect(try updated.object()["id"] as? Int == first["id"] as? Int)

            let list = try await client.send(.get, "/v1/attributes", key: tenant.key).object()
            let attributes = try #require(list["attributes"] as? [[String: Any]])
            #expect(attributes.count == 1)
            #expect(attributes[0]["name"] as? String == "temperature")
            #expect(attributes[0]["critical"] as? Bool == true)
            #expect(attributes[0]["hot"] as? Bool == false)

            let one = try await client.send(.get, "/v1/attributes/temperature", key: tenant.key)
            #expect(one.status == .ok)
        }
    }

    @Test func changingTheTypeIsAConflictThatSaysWhy() async throws {
        try await APITester.run { client in
            let tenant = try await client.createTenant()
            #expect(try await client.send(.put, "/v1/attributes/status", key: tenant.key, json: #"{"type":"text"}"#).status == .created)
            let detail = try await client.send(.put, "/v1/attributes/status", key: tenant.key, json: #"{"type":"int"}"#)
                .expectProblem("attribute_type_conflict", .conflict)
            #expect(detail.contains("text") && detail.contains("int"))
            let stored = try await client.send(.get, "/v1/attributes/status", key: tenant.key).object()
            #expect(stored["type"] as? String == "text")
        }
    }

    @Test(arguments: [
        ("/v1/attributes/t", #"{"type":"float"}"#, "unknown_value_type"),
        ("/v1/attributes/t", #"{"type":7}"#, "invalid_body"),
        ("/v1/attributes/t", #"{"type":"int","hot":"yes"}"#, "invalid_body"),
        ("/v1/attributes/t", #"{"hot":true}"#, "invalid_body"),
        ("/v1/attributes/t", #"{"type":null}"#, "invalid_body"),
        ("/v1/attributes/t", #"{"type":"int","unit":"\#(String(repeating: "u", count: 33))"}"#, "invalid_body"),
        ("/v1/attributes/t", "{\"type\":\"int\",\"unit\":\"bell\\u0007\"}", "invalid_body"),
        ("/v1/attributes/t", #"{"type":"int""#, "invalid_json"),
        ("/v1/attributes/t", #"not json"#, "invalid_json"),
        ("/v1/attributes/bad%01name", #"{"type":"int"}"#, "invalid_name"),
        ("/v1/attributes/%20lead", #"{"type":"int"}"#, "invalid_name"),
        ("/v1/attributes/bad%ZZ", #"{"type":"int"}"#, "invalid_name"),
        ("/v1/attributes/" + String(repeating: "a", count: 129), #"{"type":"int"}"#, "invalid_name"),
    ])
    func badInputIsA400AndWritesNothing(uri: String, body: String, code: String) async throws {
        try await APITester.run { client in
            let tenant = try await client.createTenant()
            try await client.send(.put, uri, key: tenant.key, json: body).expectProblem(code, .badRequest)
            let list = try await client.send(.get, "/v1/attributes", key: tenant.key).object()
            #expect((list["attributes"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func anEmptyBodyAWrongMediaTypeAndAnOversizedBodyAreRefused() async throws {
        try await APITester.run { client in
            let tenant = try await client.createTenant()
            try await client.send(.put, "/v1/attributes/t", key: tenant.key, json: "").expectProblem("invalid_json", .badRequest)
            try await client.send(.put, "/v1/attributes/t", key: tenant.key, json: "type=int", contentType: "application/x-www-form-urlencoded")
                .expectProblem("unsupported_media_type", .unsupportedMediaType)
            let huge = #"{"type":"int","description":""# + String(repeating: "x", count: 200 * 1024) + #""}"#
            try await client.send(.put, "/v1/attributes/t", key: tenant.key, json: huge).expectProblem("body_too_large", .contentTooLarge)
            #expect(try await client.send(.get, "/v1/attributes/t", key: tenant.key).status == .notFound)
        }
    }
}

@Suite struct EntityAPITests {
    @Test func upsertReturnsTheSameIdAndGetShowsMetadata() async throws {
        try await APITester.run { client in
            let tenant = try await client.createTenant()
            let created = try await client.send(.post, "/v1/entities", key: tenant.key, json: #"{"key":"dev-1","type":"sensor"}"#)
            #expect(created.status == .created)
            let id = try #require(try created.object()["id"] as? Int)
            let again = try await client.send(.post, "/v1/entities", key: tenant.key, json: #"{"key":"dev-1"}"#)
            #expect(again.status == .ok)
            #expect(try again.object()["id"] as? Int == id)

            let shown = try await client.send(.get, "/v1/entities/dev-1", key: tenant.key)
            #expect(shown.status == .ok)
            let body = try shown.object()
            #expect(body["id"] as? Int == id)
            #expect(body["key"] as? String == "dev-1")
            #expect(body["type"] as? String == "sensor")
            #expect(body["version"] as? Int == 1)
            #expect((body["created_at"] as? String)?.hasSuffix("Z") == true)
        }
    }

    @Test func keysWithReservedCharactersRoundTripPercentEncoded() async throws {
        try await APITester.run { client in
            let tenant = try await client.createTenant()
            let created = try await client.send(.post, "/v1/entities", key: tenant.key, json: #"{"key":"weather,station=Dongsi/roof 2"}"#)
            #expect(created.status == .created)
            let shown = try await client.send(.get, "/v1/entities/weather%2Cstation%3DDongsi%2Froof%202", key: tenant.key)
            #expect(shown.status == .ok)
            #expect(try shown.object()["key"] as? String == "weather,station=Dongsi/roof 2")
        }
    }

    @Test func unknownEntitiesAre404() async throws {
        try await APITester.run { client in
            let tenant = try await client.createTenant()
            try await client.send(.get, "/v1/entities/nope", key: tenant.key).expectProblem("not_found", .notFound)
        }
    }

    @Test(arguments: [
        (#"{"key":""}"#, "invalid_name"),
        ("{\"key\":\"a\\u0000b\"}", "invalid_name"),
        (#"{"key":"\#(String(repeating: "k", count: 257))"}"#, "invalid_name"),
        (#"{"key":"ok","type":"\#(String(repeating: "t", count: 65))"}"#, "invalid_name"),
        (#"{"key":["a"]}"#, "invalid_body"),
        (#"{"type":"sensor"}"#, "invalid_body"),
        (#"{"key":"x""#, "invalid_json"),
    ])
    func badEntityBodiesAre400s(body: String, code: String) async throws {
        try await APITester.run { client in
            let tenant = try await client.createTenant()
            try await client.send(.post, "/v1/entities", key: tenant.key, json: body).expectProblem(code, .badRequest)
        }
    }
}
