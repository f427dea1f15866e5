import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite struct TenantAPITests {
    @Test func theAdminCreatesATenantAndGetsItsKeyOnce() async throws {
        try await APITester.run { client in
            let name = "acme-\(UUID().uuidString.prefix(8))"
            let response = try await client.send(.post, "/v1/tenants", key: APITester.adminToken, json: #"{"name":"\#(name)"}"#)
            #expect(response.status == .created)
            let body = try response.object()
            #expect(body["name"] as? String == name)
            let key = try #require(body["api_key"] as? String)
            #expect(key.hasPrefix("tsk_") && key.count == 44)
            let settings = try #require(body["settings"] as? [String: Any])
            #expect(settings["auto_create_attributes"] as? Bool == true)
            #expect(settings["retention_months"] as? Int == 0)
            // The key works at once.
            #expect(try await client.send(.get, "/v1/attributes", key: key).status == .ok)
        }
    }

    @Test func creatingATenantNeedsTheAdminToken() async throws {
        try await APITester.run { client in
            let body = #"{"name":"intruder-\#(UUID().uuidString.prefix(8))"}"#
            try await client.send(.post, "/v1/tenants", json: body).expectProblem("unauthorized", .unauthorized)
            try await client.send(.post, "/v1/tenants", key: "wrong", json: body).expectProblem("unauthorized", .unauthorized)
            try await client.send(.post, "/v1/tenants", key: APITester.adminToken + "x", json: body).expectProblem("unauthorized", .unauthorized)
            let tenant = try await client.createTenant()
            try await client.send(.post, "/v1/tenants", key: tenant.key, json: body).expectProblem("unauthorized", .unauthorized)
        }
    }

    @Test func aDuplicateNameIsAConflict() async throws {
        try await APITester.run { client in
            let tenant = try await client.createTenant()
            try await client.send(.post, "/v1/tenants", key: APITester.adminToken, json: #"{"name":"\#(tenant.name)"}"#)
                .expectProblem("duplicate", .conflict)
        }
    }

    @Test(arguments: [
        (#"{"name":""}"#, "invalid_name"),
        ("{\"name\":\"tab\\there\"}", "invalid_name"),
        (#"{"name":"\#(String(repeating: "n", count: 65))"}"#, "invalid_name"),
        (#"{"name":42}"#, "invalid_body"),
        (#"{"nom":"x"}"#, "invalid_body"),
        (#"{"name":"ok", "retention_months": -1}"#, "invalid_body"),
        (#"{"name": "#, "invalid_json"),
        (#"[1,2]"#, "invalid_body"),
    ])
    func badTenantBodiesAre400s(body: String, code: String) async throws {
        try await APITester.run { client in
            try await client.send(.post, "/v1/tenants", key: APITester.adminToken, json: body).expectProblem(code, .badRequest)
        }
    }
}
