import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import Synchronization
import TesseraCore
import TesseraServer
import Testing

/// The access log, through the JSON log format: one line per answered request with its
/// method, route template, status, duration, tenant and request id, each line one JSON
/// object an operator's log shipper can parse.
@Suite struct AccessLogTests {
    final class Lines: Sendable {
        let captured = Mutex<[String]>([])

        func objects() throws -> [[String: Any]] {
            try self.captured.withLock { $0 }.map { line in
                try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
            }
        }
    }

    @Test func everyRequestIsOneJSONLineWithItsRouteStatusTenantAndRequestID() async throws {
        let lines = Lines()
        var logger = Logger(label: "tessera") { label in
            JSONLogHandler(label: label) { bytes in lines.captured.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) } }
        }
        logger.logLevel = .info
        try await APITester.run(logger: logger) { client, _ in
            let tenant = try await client.createTenant("access")
            let written = try await client.send(
                .post,
                "/v1/ingest?durability=safe",
                key: tenant.key,
                json: #"{"points": [{"entity": "dev-1", "attribute": "temp", "value": 20}]}"#
            )
            #expect(written.status == .ok)
            let traced = try await client.send(
                .get,
                "/v1/entities/dev-1?consistency=strong",
                key: tenant.key,
                headers: [HTTPField.Name("X-Request-Id")!: "trace-me-123"]
            )
            #expect(traced.status == .ok)
            _ = try await client.send(.get, "/v1/entities/nobody", key: tenant.key)
            _ = try await client.send(.get, "/v1/entities/dev-1", key: "tsk_not_a_key_0123456789abcdefghijklmnop")

            let all = try lines.objects()
            for line in all {
                #expect(line["ts"] is String && line["level"] is String && line["message"] is String)
            }
            let requests = all.filter { $0["message"] as? String == "request" }
            #expect(requests.count == 5, "one line per request: \(requests)")
            let lookup = try #require(requests.first { $0["request.id"] as? String == "trace-me-123" })
            #expect(lookup["http.method"] as? String == "GET")
            #expect(lookup["http.route"] as? String == "/v1/entities/{key}")
            #expect(lookup["http.status"] as? String == "200")
            #expect(lookup["tenant.id"] as? String == String(tenant.id))
            #expect(Double(lookup["duration_ms"] as? String ?? "") != nil)
            #expect(requests.contains { $0["http.status"] as? String == "404" && $0["tenant.id"] as? String == String(tenant.id) })
            // A request refused before any tenant is known has no tenant, and its 401.
            #expect(requests.contains { $0["http.status"] as? String == "401" && $0["tenant.id"] == nil })
            // No key ever reaches the log.
            #expect(!lines.captured.withLock { $0 }.joined().contains(tenant.key))
        }
    }
}
