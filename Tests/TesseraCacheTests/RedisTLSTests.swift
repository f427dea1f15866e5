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
    @Test(.enabled(if: TestCertificates.available, "needs the openssl tool to make a test CA"))
    func redissVerifiesTheServerAndCarriesCommands() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        let directory = certificates.directory
        let (certificate, key) = try await certificates.server("server", names: ["DNS:localhost", "IP:127.0.0.1"])

        let tlsPort = try Ports.free()
        let password = "tls-test-password"
        let server = RedisServer(
            directory: directory + "/redis",
            executable: try #require(RedisServer.locate()),
            password: password,
            settings: RedisSettings.test + """
                tls-port \(tlsPort)
                tls-cert-file \(certificate)
                tls-key-file \(key)
                tls-ca-cert-file \(certificates.authority)
                tls-auth-clients no

                """,
            logger: quietLogger
        )
        _ = try await offloaded { try server.start(preferredPort: nil) }
        defer { try? RedisServer.stop(directory: server.directory, name: "redis-tls", logger: quietLogger) }

        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates([try NIOSSLCertificate(file: certificates.authority, format: .pem)])
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

        // The pool over TLS, trusting the CA's file as `TESSERA_REDIS_CA_FILE` makes it.
        let pooled = try RedisURL(parsing: "rediss://:\(password)@localhost:\(tlsPort)/0")
        var configuration = RedisClient.Configuration(url: pooled, connections: 2, commandTimeout: .seconds(5), connectTimeout: .seconds(5))
        configuration.trust(caFile: certificates.authority)
        let client = RedisClient(configuration: configuration, logger: quietLogger)
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
}
