import Foundation
import PostgresNIO
import TesseraCore
import TesseraTestSupport
import Testing

@testable import TesseraLocal
@testable import TesseraStore

/// `sslmode` and `sslrootcert` against a real PostgreSQL serving TLS with a certificate
/// from a CA made in the test, for `localhost` only: each mode accepts what libpq's
/// does and refuses what it refuses.
@Suite struct DatabaseTLSTests {
    @Test(.enabled(if: TestCertificates.available, "needs the openssl tool to make a test CA"))
    func eachSSLModeConnectsOrRefusesAsLibpqDoes() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        let (certificate, key) = try await certificates.server("postgres", names: ["DNS:localhost"])
        let runAs = try OSUser.forPostgres()
        for file in [certificate, key] {
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
            runAs?.own(file)
        }
        let password = "tls-test-\(UUID().uuidString.prefix(8))"
        let server = PostgresServer(
            name: "tls",
            dataDirectory: certificates.directory + "/postgres/data",
            installation: try PostgresInstallation.locate(),
            runAs: runAs,
            superuser: "tessera",
            password: password,
            settings: PostgresSettings.test + "ssl = on\nssl_cert_file = '\(certificate)'\nssl_key_file = '\(key)'\n",
            logger: quietLogger
        )
        let port = try await offloaded { try server.start(preferredPort: nil) }
        defer { try? PostgresServer.stop(dataDirectory: server.dataDirectory, name: "tls", logger: quietLogger) }

        func url(_ host: String, _ query: String) throws -> DatabaseURL {
            try DatabaseURL(parsing: "postgres://tessera:\(password)@\(host):\(port)/postgres?\(query)")
        }
        let ca = "sslrootcert=" + certificates.authority
        // What the server says about the session: encrypted or not.
        #expect(try await Self.encrypted(url("localhost", "sslmode=verify-full&" + ca)) == true)
        #expect(try await Self.encrypted(url("127.0.0.1", "sslmode=verify-ca&" + ca)) == true)
        #expect(try await Self.encrypted(url("127.0.0.1", "sslmode=require")) == true)
        #expect(try await Self.encrypted(url("127.0.0.1", "sslmode=prefer")) == true)
        #expect(try await Self.encrypted(url("127.0.0.1", "sslmode=disable")) == false)

        // The certificate names localhost, not 127.0.0.1: verify-full refuses it there.
        await #expect(throws: (any Error).self) { try await Self.encrypted(url("127.0.0.1", "sslmode=verify-full&" + ca)) }
        // Without the test CA (the system's CAs) nothing verifies it.
        await #expect(throws: (any Error).self) { try await Self.encrypted(url("localhost", "sslmode=verify-full")) }
        await #expect(throws: (any Error).self) { try await Self.encrypted(url("localhost", "sslmode=verify-ca")) }
        // require with a CA file checks the chain, as libpq does: another CA is refused.
        let other = try await TestCertificates.make()
        defer { other.remove() }
        await #expect(throws: (any Error).self) {
            try await Self.encrypted(url("localhost", "sslmode=require&sslrootcert=" + other.authority))
        }

        // The server's pool takes the same URL.
        try await withTestClient(url: url("localhost", "sslmode=verify-full&" + ca)) { client in
            let rows = try await client.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", logger: quietLogger)
            for try await ssl in rows.decode(Bool.self) { #expect(ssl) }
        }
    }

    /// Whether a connection made from `url` is encrypted, as `pg_stat_ssl` reports it.
    @discardableResult
    static func encrypted(_ url: DatabaseURL) async throws -> Bool {
        let connection = try await PostgresConnection.connect(configuration: .init(url: url), id: 1, logger: quietLogger)
        defer { Task { try? await connection.close() } }
        let rows = try await connection.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", logger: quietLogger)
        var encrypted: Bool?
        for try await ssl in rows.decode(Bool.self) { encrypted = ssl }
        return try #require(encrypted)
    }
}
