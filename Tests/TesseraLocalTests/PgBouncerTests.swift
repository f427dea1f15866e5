import Foundation
import Logging
import PostgresNIO
import TesseraTestSupport
import Testing

@testable import TesseraLocal

/// pgbouncer in front of the local cluster's primary, in transaction pooling: with the
/// server's role limited to 5 connections, a sixth direct connection is refused, and 200
/// clients through pgbouncer are all served, on at most 5 server connections.
@Suite struct PgBouncerTests {
    @Test func farMoreClientsThanTheDatabaseAllowsAreAllServedThroughIt() async throws {
        let directory = NSTemporaryDirectory() + "tessera-pgbouncer-test-\(UUID().uuidString.prefix(8))"
        defer {
            LocalCluster.stopNow(directory: directory)
            try? FileManager.default.removeItem(atPath: directory)
        }
        let pooler = PoolerSettings(maxClientConnections: 500, poolSize: 5, reservePoolSize: 0, maxServerConnections: 5)
        let cluster = LocalCluster(configuration: .init(directory: directory, profile: .test, redis: .off, pooler: pooler), logger: quietLogger)
        let status = try await cluster.up()
        let primary = try #require(status.primary)
        let bouncer = try #require(status.components.first { $0.kind == "pgbouncer" }, "\(status.text)")
        #expect(bouncer.running)
        #expect(bouncer.role == "pooler")
        let appURL = try #require(bouncer.appURL)
        let password = try #require(URLComponents(string: appURL)?.password)
        try Self.psql(primary.url, "ALTER ROLE tessera_app CONNECTION LIMIT 5")

        // Directly: the sixth connection of the role is refused.
        var direct = [PostgresConnection]()
        var refused: (any Error)?
        for id in 0..<6 {
            do {
                direct.append(try await Self.connect(port: primary.port, password: password, id: id))
            } catch {
                refused = error
            }
        }
        #expect(direct.count == 5)
        #expect(String(reflecting: try #require(refused)).contains("too many connections"))
        for connection in direct { try await connection.close() }
        // Their backends gone before pgbouncer logs in (else its first login meets the limit).
        let deadline = ContinuousClock.now + .seconds(20)
        while try Self.psql(primary.url, "SELECT count(*) FROM pg_stat_activity WHERE usename = 'tessera_app'") != "0", ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }

        // Through pgbouncer: 200 clients at once, each running a statement that takes 50 ms.
        let served = try await withThrowingTaskGroup(of: Int.self) { group in
            for id in 0..<200 {
                group.addTask {
                    let connection = try await Self.connect(port: bouncer.port, password: password, id: 100 + id)
                    defer { Task { try? await connection.close() } }
                    let rows = try await connection.query("SELECT pg_sleep(0.05), 1", logger: quietLogger)
                    var answered = 0
                    for try await (_, one) in rows.decode((String, Int).self) { answered += one }
                    return answered
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(served == 200)
        let serverSide = try Self.psql(primary.url, "SELECT count(*) FROM pg_stat_activity WHERE usename = 'tessera_app'")
        #expect((Int(serverSide) ?? 99) <= 5, "\(serverSide) server connections")
    }

    static func connect(port: Int, password: String, id: Int) async throws -> PostgresConnection {
        let configuration = PostgresConnection.Configuration(
            host: "127.0.0.1",
            port: port,
            username: "tessera_app",
            password: password,
            database: "tessera",
            tls: .disable
        )
        return try await PostgresConnection.connect(configuration: configuration, id: id, logger: quietLogger)
    }

    @discardableResult
    static func psql(_ url: String, _ sql: String) throws -> String {
        try Command(executable: try PostgresInstallation.locate().tool("psql"), arguments: ["-X", "-tA", "-d", url, "-c", sql])
            .check().trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
