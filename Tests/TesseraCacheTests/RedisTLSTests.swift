import Foundation
import NIOCore
import NIOSSL
import TesseraCore
import TesseraTestSupport
import Testing

@testable import TesseraCache
@testable import TesseraLocal

/// `rediss://` against a real Redis with TLS (ElastiCache's in-transit encryption,
/// here with a test CA made by `openssl`), and ACL users (`AUTH user password`).
@Suite struct RedisTLSTests {
    static let hasOpenSSL = FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")

    @Test(.enabled(if: hasOpenSSL, "needs the openssl tool to make a test CA"))
    func redissVerifiesTheServerAndCarriesCommands() async throws {
        let directory = NSTemporaryDirectory() + "tessera-tests-\(getpid())-tls-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await offloaded { try Self.makeCertificates(in: directory) }

        let tlsPort = try Ports.free()
        let password = "tls-test-password"
        let server = RedisServer(
            directory: directory + "/redis",
            executable: try #require(RedisServer.locate()),
            password: password,
            settings: RedisSettings.test + """
                tls-port \(tlsPort)
                tls-cert-file \(directory)/server.crt
                tls-key-file \(directory)/server.key
                tls-ca-cert-file \(directory)/ca.crt
                tls-auth-clients no

                """,
            logger: quietLogger
        )
        _ = try await offloaded { try server.start(preferredPort: nil) }
        defer { try? RedisServer.stop(directory: server.directory, name: "redis-tls", logger: quietLogger) }

        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates([try NIOSSLCertificate(file: directory + "/ca.crt", format: .pem)])
        for host in ["localhost", "127.0.0.1"] {
            let url = try RedisURL(parsing: "rediss://:\(password)@\(host == "localhost" ? host : "127.0.0.1"):\(tlsPort)/2")
            #expect(url.tls)
            let connection = try await RedisConnection.connect(
                configuration: .init(url: url, commandTimeout: .seconds(5), connectTimeout: .seconds(5), tls: tls),
                logger: quietLogger
            )
            try await connection.set("over-tls", to: ByteBuffer(string: host))
            #expect(try await connection.get("over-tls") == ByteBuffer(string: host))
            await connection.close()
        }

        // Without the test CA the server's certificate is not trusted: a connection error, not a hang.
        let untrusted = try RedisURL(parsing: "rediss://:\(password)@localhost:\(tlsPort)/0")
        await #expect {
            _ = try await RedisConnection.connect(
                configuration: .init(url: untrusted, connectTimeout: .seconds(5)),
                logger: quietLogger
            )
        } throws: { ($0 as? RedisError)?.kind == .connection }

        // The pool over TLS.
        let pooled = try RedisURL(parsing: "rediss://:\(password)@localhost:\(tlsPort)/0")
        let client = RedisClient(
            configuration: .init(url: pooled, connections: 2, commandTimeout: .seconds(5), connectTimeout: .seconds(5), tls: tls),
            logger: quietLogger
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            defer { group.cancelAll() }
            #expect(try await client.increment("tls-counter") == 1)
            try await client.ping()
        }
    }

    @Test func anACLUserAuthenticatesWithItsName() async throws {
        let url = try await TestRedis.url()
        let user = "tessera-\(UUID().uuidString.prefix(8).lowercased())"
        let admin = try await RedisConnection.connect(configuration: .patient(url), logger: quietLogger)
        _ = try await admin.send(["ACL", "SETUSER", .string(user), "on", ">user-secret", "~acl:*", "+get", "+set", "+ping"])

        var asUser = url
        asUser.username = user
        asUser.password = "user-secret"
        let connection = try await RedisConnection.connect(configuration: .patient(asUser), logger: quietLogger)
        try await connection.set("acl:\(user)", to: ByteBuffer(string: "mine"))
        #expect(try await connection.get("acl:\(user)") == ByteBuffer(string: "mine"))
        // The ACL forbids other keys: an authentication-kind error (NOPERM).
        await #expect { try await connection.get("other") } throws: { ($0 as? RedisError)?.kind == .authentication }
        await connection.close()

        asUser.password = "not-the-secret"
        await #expect {
            _ = try await RedisConnection.connect(configuration: .patient(asUser), logger: quietLogger)
        } throws: { ($0 as? RedisError)?.kind == .authentication }

        _ = try await admin.send(["ACL", "DELUSER", .string(user)])
        _ = try await admin.send(["DEL", .string("acl:\(user)")])
        await admin.close()
    }

    /// A CA, and a server certificate it signed for `localhost` and 127.0.0.1.
    private static func makeCertificates(in directory: String) throws {
        let openssl = "/usr/bin/openssl"
        try Command(
            executable: openssl,
            arguments: [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", directory + "/ca.key", "-out", directory + "/ca.crt", "-days", "2", "-subj", "/CN=Tessera Test CA",
            ]
        ).check()
        try Command(
            executable: openssl,
            arguments: [
                "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", directory + "/server.key", "-out", directory + "/server.csr", "-subj", "/CN=localhost",
            ]
        ).check()
        FileManager.default.createFile(
            atPath: directory + "/server.ext",
            contents: Data("subjectAltName=DNS:localhost,IP:127.0.0.1\n".utf8)
        )
        try Command(
            executable: openssl,
            arguments: [
                "x509", "-req", "-in", directory + "/server.csr", "-CA", directory + "/ca.crt", "-CAkey", directory + "/ca.key",
                "-CAcreateserial", "-out", directory + "/server.crt", "-days", "2", "-extfile", directory + "/server.ext",
            ]
        ).check()
    }
}
