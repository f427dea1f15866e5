import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// `/write` as InfluxDB 1.x clients use it.
@Suite struct InfluxWriteTests {
    @Test func writesAre204AndEveryCredentialStyleWorks() async throws {
        try await APITester.run { client, dependencies in
            let tenant = try await client.createTenant()
            let basic = Data("telegraf:\(tenant.key)".utf8).base64EncodedString()
            let styles: [(String, HTTPFields)] = [
                ("/write?db=x", [.authorization: "Token \(tenant.key)"]),
                ("/write?db=x", [.authorization: "Bearer \(tenant.key)"]),
                ("/write?db=x", [.authorization: "Basic \(basic)"]),
                ("/write?db=x&u=telegraf&p=\(tenant.key)", [:]),
            ]
            for (index, (uri, credentials)) in styles.enumerated() {
                var headers = credentials
                headers[.contentType] = "text/plain"
                let response = try await client.execute(
                    uri: uri,
                    method: .post,
                    headers: headers,
                    body: .init(string: "cpu,host=a usage=\(index).5 \(1_764_064_800 + index)000000000\n")
                )
                #expect(response.status == .noContent, "style \(index): \(String(buffer: response.body))")
                #expect(response.headers[HTTPField.Name("X-Influxdb-Version")!] != nil)
            }
            try await waitForRows(dependencies.primary, tenant: tenant.id, count: 4)
            #expect(try await projection(dependencies.primary, tenant: tenant.id, key: "cpu,host=a") == nil)  // not hot
        }
    }

    @Test func aPartialWriteNamesWhatWasDroppedAndKeepsTheRest() async throws {
        try await APITester.run { client, dependencies in
            let tenant = try await client.createTenant()
            let body = "mem,host=a used=1i 1764064800000000000\nmem,host=a used=oops\nmem,host=b used=2i 1764064800000000000\n"
            let response = try await client.send(.post, "/write?db=telegraf", key: tenant.key, json: body, contentType: "text/plain")
            let detail = try response.expectProblem("partial_write", .badRequest)
            let error = try #require(try response.object()["error"] as? String)
            #expect(error.hasPrefix("partial write:"))
            #expect(error.hasSuffix("dropped=1"))
            #expect(detail == error)
            try await waitForRows(dependencies.primary, tenant: tenant.id, count: 2)
        }
    }

    @Test func missingDatabaseBadPrecisionAndBadKeysAreRefused() async throws {
        try await APITester.run { client in
            let tenant = try await client.createTenant()
            let missingDB = try await client.send(.post, "/write", key: tenant.key, json: "m v=1", contentType: "text/plain")
            try missingDB.expectProblem("invalid_parameter", .badRequest)
            #expect(try missingDB.object()["error"] as? String == "database is required")
            try await client.send(.post, "/write?db=x&precision=fortnight", key: tenant.key, json: "m v=1", contentType: "text/plain")
                .expectProblem("invalid_parameter", .badRequest)
            let unauthorized = try await client.send(.post, "/write?db=x", key: "nope", json: "m v=1", contentType: "text/plain")
            try unauthorized.expectProblem("unauthorized", .unauthorized)
            #expect(try unauthorized.object()["error"] as? String == "authorization failed")
            #expect(try await client.send(.get, "/ping").status == .noContent)
            // What influxdb-python sends first: CREATE DATABASE through /query, form-encoded.
            let create = try await client.send(.post, "/query?q=CREATE+DATABASE+%22telemetry%22&u=me&p=\(tenant.key)")
            #expect(create.status == .ok)
            #expect(create.text == #"{"results":[{"statement_id":0}]}"#)
            try await client.send(.get, "/query?q=SELECT+*+FROM+cpu&p=\(tenant.key)").expectProblem("invalid_parameter", .badRequest)
        }
    }
}
