import Foundation
import TesseraTestSupport
import Testing

@testable import TesseraLocal

/// The embedded cluster, for real: its own directory, its own PostgreSQL.
@Suite struct LocalClusterTests {
    @Test func upAndDownTwiceReusesTheData() async throws {
        let directory = NSTemporaryDirectory() + "tessera-local-test-\(UUID().uuidString.prefix(8))"
        defer {
            LocalCluster.stopNow(directory: directory)
            try? FileManager.default.removeItem(atPath: directory)
        }
        let cluster = LocalCluster(configuration: .init(directory: directory, profile: .test), logger: quietLogger)

        let first = try await cluster.up()
        let primary = try #require(first.primary)
        #expect(primary.running)
        #expect(primary.kind == "postgresql")
        #expect(primary.url.hasPrefix("postgres://tessera:"))
        #expect(primary.url.contains("@127.0.0.1:\(primary.port)/tessera"))
        let pid = try #require(primary.pid)
        #expect(ProcessControl.isAlive(pid))
        // Redis comes along when it is installed (`make test` installs it).
        #expect(first.components.contains { $0.kind == "redis" && $0.running } == (RedisServer.locate() != nil))
        // Our marker survives a restart: the data is reused, not re-initialised.
        try self.psql(primary, "CREATE TABLE marker (x int); INSERT INTO marker VALUES (42);")

        // `up` on a running cluster changes nothing.
        let again = try await cluster.up()
        #expect(again.primary?.pid == pid)

        let stopped = try await cluster.down()
        #expect(stopped.primary?.running == false)
        #expect(!ProcessControl.isAlive(pid))
        // `down` twice is harmless.
        #expect(try await cluster.down().primary?.running == false)

        let restarted = try await cluster.up()
        let second = try #require(restarted.primary)
        #expect(second.running)
        #expect(second.pid != pid)
        #expect(try self.psql(second, "SELECT x FROM marker").trimmingCharacters(in: .whitespacesAndNewlines) == "42")

        _ = try await cluster.down()
        #expect(try cluster.status().primary?.running == false)
    }

    @Test func replicasStreamThePrimarysWrites() async throws {
        let directory = NSTemporaryDirectory() + "tessera-replica-test-\(UUID().uuidString.prefix(8))"
        defer {
            LocalCluster.stopNow(directory: directory)
            try? FileManager.default.removeItem(atPath: directory)
        }
        let cluster = LocalCluster(configuration: .init(directory: directory, profile: .test, replicas: 1), logger: quietLogger)
        let status = try await cluster.up()
        let primary = try #require(status.primary)
        let replica = try #require(status.components.first { $0.name == "replica-1" })
        #expect(replica.role == "replica")
        #expect(replica.running)
        #expect(replica.port != primary.port)
        #expect(try self.psql(replica, "SELECT pg_is_in_recovery()").trimmingCharacters(in: .whitespacesAndNewlines) == "t")
        #expect(try self.psql(primary, "SELECT count(*) FROM pg_stat_replication").trimmingCharacters(in: .whitespacesAndNewlines) == "1")

        try self.psql(primary, "CREATE TABLE streamed (x int); INSERT INTO streamed VALUES (7);")
        var seen = ""
        for _ in 0..<100 {
            seen = (try? self.psql(replica, "SELECT x FROM streamed"))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            if seen == "7" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(seen == "7")
        // A replica refuses writes.
        #expect(throws: (any Error).self) { try self.psql(replica, "INSERT INTO streamed VALUES (8)") }

        // It streams through a slot, so the primary keeps the WAL it misses while down:
        // after the primary switched segments and checkpointed (recycling old segments),
        // the restarted replica still catches up.
        #expect(
            try self.psql(primary, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'tessera_replica_1'")
                .trimmingCharacters(in: .whitespacesAndNewlines) == "1"
        )
        try await cluster.stop(component: "replica-1")
        for value in 9...12 {
            try self.psql(primary, "INSERT INTO streamed VALUES (\(value)); SELECT pg_switch_wal();")
        }
        try self.psql(primary, "CHECKPOINT")
        try self.psql(primary, "CHECKPOINT")
        let restarted = try #require(try await cluster.up().components.first { $0.name == "replica-1" })
        seen = ""
        for _ in 0..<200 {
            seen = (try? self.psql(restarted, "SELECT max(x) FROM streamed"))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            if seen == "12" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(seen == "12")

        let stopped = try await cluster.down()
        #expect(stopped.components.allSatisfy { !$0.running })
    }

    @Test func redisComesUpWithAPasswordAndGoesDown() async throws {
        let directory = NSTemporaryDirectory() + "tessera-redis-test-\(UUID().uuidString.prefix(8))"
        defer {
            LocalCluster.stopNow(directory: directory)
            try? FileManager.default.removeItem(atPath: directory)
        }
        let cluster = LocalCluster(
            configuration: .init(directory: directory, profile: .test, postgreSQL: false, redis: .required),
            logger: quietLogger
        )
        let status = try await cluster.up()
        #expect(status.primary == nil)
        let redis = try #require(status.components.first { $0.name == "redis" })
        #expect(redis.kind == "redis")
        #expect(redis.role == "cache")
        #expect(redis.running)
        #expect(redis.url.hasPrefix("redis://:"))
        #expect(redis.url.hasSuffix("@127.0.0.1:\(redis.port)/0"))
        let pid = try #require(redis.pid)
        #expect(try await self.redisCLI(redis.url, "PING") == "PONG")
        #expect(try await self.redisCLI(redis.url, "CONFIG", "GET", "maxmemory-policy").contains("allkeys-lru"))
        #expect(try await self.redisCLI(redis.url, "CONFIG", "GET", "maxmemory").contains("\(64 * 1024 * 1024)"))
        #expect(try await self.redisCLI(redis.url, "CONFIG", "GET", "save").split(separator: "\n").count == 1)
        // Without the password it refuses.
        let anonymous = "redis://127.0.0.1:\(redis.port)/0"
        #expect(try await self.redisCLI(anonymous, "PING").contains("NOAUTH"))

        // `up` on a running Redis changes nothing.
        #expect(try await cluster.up().components.first { $0.name == "redis" }?.pid == pid)

        // Stopped alone, it comes back on the same port with the same password.
        try await cluster.stop(component: "redis")
        #expect(!ProcessControl.isAlive(pid))
        #expect(try cluster.status().components.first { $0.name == "redis" }?.running == false)
        let restarted = try #require(try await cluster.up().components.first { $0.name == "redis" })
        #expect(restarted.running)
        #expect(restarted.pid != pid)
        #expect(restarted.url == redis.url)
        #expect(try await self.redisCLI(restarted.url, "PING") == "PONG")

        let stopped = try await cluster.down()
        #expect(stopped.components.allSatisfy { !$0.running })
        #expect(!ProcessControl.isAlive(try #require(restarted.pid)))
        #expect(try await cluster.down().components.allSatisfy { !$0.running })
    }

    @Test func statusEncodesAsJSONForScripts() throws {
        let status = ClusterStatus(
            directory: "/x",
            components: [
                .init(
                    name: "primary",
                    kind: "postgresql",
                    role: "primary",
                    host: "127.0.0.1",
                    port: 5555,
                    url: "postgres://u:p@127.0.0.1:5555/tessera",
                    pid: 10,
                    running: true,
                    dataDirectory: "/x/pg",
                    logFile: "/x/pg.log"
                )
            ]
        )
        let decoded = try JSONDecoder().decode(ClusterStatus.self, from: JSONEncoder().encode(status))
        #expect(decoded == status)
        #expect(status.text.contains("postgres://u:p@127.0.0.1:5555/tessera"))
        #expect(status.text.contains("running (pid 10)"))
    }

    @Test func anEmptyDirectoryHasNothingRunning() throws {
        let cluster = LocalCluster(configuration: .init(directory: NSTemporaryDirectory() + "tessera-none-\(UUID().uuidString)"), logger: quietLogger)
        #expect(try cluster.status().components.isEmpty)
    }

    /// `redis-cli` on a `redis://[:password@]127.0.0.1:port/0` URL (its own `-u` reads `:password` as an empty user).
    private func redisCLI(_ url: String, _ arguments: String...) async throws -> String {
        let authority = url.dropFirst("redis://".count).prefix { $0 != "/" }
        let password = authority.contains("@") ? authority.prefix { $0 != "@" }.dropFirst() : nil
        let port = authority.split(separator: ":").last.map(String.init) ?? ""
        let command = Command(
            executable: "/usr/bin/redis-cli",
            arguments: ["-h", "127.0.0.1", "-p", port] + arguments,
            environment: password.map { ["REDISCLI_AUTH": String($0)] } ?? [:]
        )
        return try await offloaded { try command.check() }.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @discardableResult
    private func psql(_ component: ClusterStatus.Component, _ sql: String) throws -> String {
        let installation = try PostgresInstallation.locate()
        return try Command(
            executable: installation.tool("psql"),
            arguments: ["-X", "-tA", "-d", component.url, "-c", sql]
        ).check()
    }
}
