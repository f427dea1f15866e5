import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import NIOSSL
import TesseraCore
import TesseraServer
import TesseraTestSupport
import Testing

/// `serve --tls-cert --tls-key`: the API over HTTPS with a certificate from a CA made in
/// the test. A client that trusts the CA is served; one that does not, or that speaks
/// plain HTTP to the port, is not.
@Suite struct HTTPSTests {
    @Test(.enabled(if: TestCertificates.available, "needs the openssl tool to make a test CA"))
    func theAPIIsServedOverHTTPSToClientsThatTrustItsCA() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        let (certificate, key) = try await certificates.server("api", names: ["DNS:localhost", "IP:127.0.0.1"])
        let tls = try ServerTLS(certificateFile: certificate, keyFile: key)

        try await APITester.run(tls: tls) { plain, _ in
            let port = try #require(plain.port)
            var trusting = TLSConfiguration.makeClientConfiguration()
            trusting.trustRoots = .file(certificates.authority)
            let client = TestClient(host: "127.0.0.1", port: port, configuration: .init(tlsConfiguration: trusting, serverName: "localhost"))
            client.connect()
            defer { Task { try? await client.shutdown() } }

            // The whole API: a tenant made, a point written and read back, over TLS.
            let created = try await client.execute(
                TestClient.Request(
                    "/v1/tenants",
                    method: .post,
                    headers: [.authorization: "Bearer \(APITester.adminToken)", .contentType: "application/json"],
                    body: ByteBuffer(string: #"{"name": "https-\#(UUID().uuidString.prefix(8))"}"#)
                )
            )
            #expect(created.status == .created)
            let tenantKey = try #require(
                (try JSONSerialization.jsonObject(with: Data(Self.text(created).utf8)) as? [String: Any])?["api_key"] as? String
            )
            let written = try await client.execute(
                TestClient.Request(
                    "/v1/ingest?durability=safe",
                    method: .post,
                    headers: [.authorization: "Bearer \(tenantKey)", .contentType: "application/json"],
                    body: ByteBuffer(string: #"{"points": [{"entity": "meter-1", "attribute": "kwh", "value": 12.5}]}"#)
                )
            )
            #expect(written.status.code < 300, "\(Self.text(written))")
            let read = try await client.execute(
                TestClient.Request("/v1/entities/meter-1/series/kwh?consistency=strong", method: .get, headers: [.authorization: "Bearer \(tenantKey)"])
            )
            #expect(read.status == .ok)
            #expect(Self.text(read).contains("12.5"), "\(Self.text(read))")

            // curl, as an operator would try it: trusted with --cacert, refused without.
            let withCA = try await Self.curl(["--cacert", certificates.authority, "https://localhost:\(port)/healthz"])
            #expect(withCA.status == 0 && withCA.output.hasPrefix("200"), "\(withCA)")
            let withoutCA = try await Self.curl(["https://localhost:\(port)/healthz"])
            #expect(withoutCA.status == 60, "curl trusted an unknown CA: \(withoutCA)")
            // Plain HTTP to the HTTPS port gets no HTTP answer.
            let plainHTTP = try await Self.curl(["http://127.0.0.1:\(port)/healthz"])
            #expect(plainHTTP.status != 0 || !plainHTTP.output.hasPrefix("200"), "\(plainHTTP)")
        }
    }

    @Test(.enabled(if: TestCertificates.available, "needs the openssl tool to make a test CA"))
    func aMissingOrMismatchedCertificateIsRefusedAtStart() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        let first = try await certificates.server("first", names: ["DNS:localhost"])
        let second = try await certificates.server("second", names: ["DNS:localhost"])
        #expect(throws: TesseraError.self) { try ServerTLS(certificateFile: certificates.directory + "/none.crt", keyFile: first.key) }
        #expect(throws: TesseraError.self) { try ServerTLS(certificateFile: first.certificate, keyFile: certificates.directory + "/none.key") }
        #expect(throws: TesseraError.self) { try ServerTLS(certificateFile: first.key, keyFile: first.key) }
        #expect(throws: TesseraError.self) { try ServerTLS(certificateFile: first.certificate, keyFile: second.key) }
        _ = try ServerTLS(certificateFile: second.certificate, keyFile: second.key)
    }

    static func text(_ response: TestClient.Response) -> String { response.body.map { String(buffer: $0) } ?? "" }

    /// curl's exit status, and what `-w '%{http_code}'` printed (with `-s -o /dev/null`).
    static func curl(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await Task.detached {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            process.arguments = ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20"] + arguments
            let output = Pipe()
            process.standardOutput = output
            process.standardError = Pipe()
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: data, as: UTF8.self))
        }.value
    }
}
