import Foundation
import HTTPTypes
import HummingbirdTesting
import TesseraServer
import Testing

/// `Expect: 100-continue` (curl sends it for bodies over 1 MB): `100 Continue` only
/// once the key is known good; a bad key gets its 401 before the body is sent.
@Suite struct ExpectContinueTests {
    @Test func continueIsSentOnlyAfterTheKeyIsChecked() async throws {
        try await APITester.run(overHTTP: true) { client, dependencies in
            let port = try #require(client.port)
            let tenant = try await client.createTenant("expect")
            let body = #"{"points":[{"entity":"e","attribute":"v","value":1}]}"#
            let good = try await Self.curl(port: port, key: tenant.key, body: body)
            #expect(good.contains("HTTP/1.1 100 Continue"), "\(good)")
            #expect(good.contains("HTTP/1.1 200 OK"), "\(good)")
            let bad = try await Self.curl(port: port, key: "tsk_not_a_key_0123456789abcdefghijklmnop", body: body)
            #expect(!bad.contains("100 Continue"), "\(bad)")
            #expect(bad.contains("HTTP/1.1 401"), "\(bad)")
            try await waitForRows(dependencies.primary, tenant: tenant.id, count: 1)
        }
    }

    /// curl's verbose trace of a POST that asks for `100 Continue`.
    static func curl(port: Int, key: String, body: String) async throws -> String {
        try await Task.detached {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            process.arguments = [
                "-sv", "--max-time", "20", "--expect100-timeout", "10", "-H", "Expect: 100-continue",
                "-H", "Authorization: Bearer \(key)", "-H", "Content-Type: application/json",
                "--data-binary", body, "http://127.0.0.1:\(port)/v1/ingest",
            ]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }.value
    }
}
