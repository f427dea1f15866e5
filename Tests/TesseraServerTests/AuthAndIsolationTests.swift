import Foundation
import HTTPTypes
import HummingbirdTesting
import TesseraStore
import Testing

@Suite struct AuthAndIsolationTests {
    @Test(arguments: ["/v1/attributes", "/v1/attributes/x", "/v1/entities/x"])
    func tenantRoutesNeedAValidKey(uri: String) async throws {
        try await APITester.run { client in
            let missing = try await client.send(.get, uri)
            try missing.expectProblem("unauthorized", .unauthorized)
            #expect(missing.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            try await client.send(.get, uri, key: "tsk_" + String(repeating: "A", count: 40)).expectProblem("unauthorized", .unauthorized)
            try await client.send(.get, uri, key: "not-a-key").expectProblem("unauthorized", .unauthorized)
            try await client.send(.get, uri, headers: [.authorization: "Basic dXNlcjpwYXNz"]).expectProblem("unauthorized", .unauthorized)
            // The admin token is not a tenant key.
            try await client.send(.get, uri, key: APITester.adminToken).expectProblem("unauthorized", .unauthorized)
        }
    }

    @Test func aTenantNeverSeesAnotherTenantsData() async throws {
        try await APITester.run { client in
            let alice = try await client.createTenant("alice")
            let bob = try await client.createTenant("bob")
            #expect(try await client.send(.put, "/v1/attributes/secret", key: alice.key, json: #"{"type":"text"}"#).status == .created)
            #expect(try await client.send(.post, "/v1/entities", key: alice.key, json: #"{"key":"alice-phone"}"#).status == .created)

            try await client.send(.get, "/v1/entities/alice-phone", key: bob.key).expectProblem("not_found", .notFound)
            try await client.send(.get, "/v1/attributes/secret", key: bob.key).expectProblem("not_found", .notFound)
            let bobs = try await client.send(.get, "/v1/attributes", key: bob.key).object()
            #expect((bobs["attributes"] as? [Any])?.isEmpty == true)

            // Bob's attribute of the same name is his own, with his own type.
            #expect(try await client.send(.put, "/v1/attributes/secret", key: bob.key, json: #"{"type":"int"}"#).status == .created)
            let alices = try await client.send(.get, "/v1/attributes/secret", key: alice.key).object()
            #expect(alices["type"] as? String == "text")
        }
    }
}

@Suite struct OperationsAPITests {
    @Test func healthReadinessAndUnknownRoutes() async throws {
        try await APITester.run { client in
            let health = try await client.send(.get, "/healthz")
            #expect(health.status == .ok)
            #expect(try health.object()["status"] as? String == "ok")
            let ready = try await client.send(.get, "/readyz")
            #expect(ready.status == .ok)
            #expect(try ready.object()["schema_version"] as? Int == (try Migration.bundled()).last?.version)
            try await client.send(.get, "/v2/nothing").expectProblem("not_found", .notFound)
        }
    }

    @Test func metricsCountRequestsByRouteAndStatus() async throws {
        try await APITester.run { client in
            let tenant = try await client.createTenant()
            _ = try await client.send(.get, "/v1/entities/missing-one", key: tenant.key)
            _ = try await client.send(.get, "/v1/entities/missing-two", key: tenant.key)
            let metrics = try await client.send(.get, "/metrics")
            #expect(metrics.status == .ok)
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = metrics.text
            #expect(text.contains(#"http_server_requests_total{http_route="/v1/entities/{key}",http_request_method="GET",http_response_status_code="404"} 2"#))
            #expect(
                text.contains(
                    #"http_server_request_duration_seconds_count{http_route="/v1/tenants",http_request_method="POST",http_response_status_code="201"} 1"#
                )
            )
            #expect(!text.contains("missing-one"))
        }
    }
}
