import Foundation
import NIOCore
import TesseraCore
import TesseraTestSupport
import Testing

@testable import TesseraCache

/// The RESP client against a real Redis started through `TesseraLocal`: the shared
/// one (each test keeps to keys of its own), or one of the test's own when it
/// stops Redis.
@Suite struct RedisClientTests {
    @Test func setGetAndExpiry() async throws {
        let prefix = Self.prefix()
        try await Self.withClient { client in
            try await client.ping()
            #expect(try await client.get(prefix + "missing") == nil)
            try await client.set(prefix + "a", to: ByteBuffer(string: "alpha"))
            #expect(try await client.get(prefix + "a") == ByteBuffer(string: "alpha"))
            let binary = ByteBuffer(bytes: [0, 13, 10, 255, 36])
            try await client.set(prefix + "bin", to: binary)
            #expect(try await client.get(prefix + "bin") == binary)

            try await client.set(prefix + "short", to: ByteBuffer(string: "s"), ttl: .milliseconds(1_000))
            #expect(try await client.get(prefix + "short") == ByteBuffer(string: "s"))
            guard case .integer(let pttl) = try await client.send(["PTTL", .string(prefix + "short")]) else {
                Issue.record("PTTL is an integer")
                return
            }
            #expect((1...1_000).contains(pttl))
            try await Task.sleep(for: .milliseconds(1_300))
            #expect(try await client.get(prefix + "short") == nil)

            #expect(try await client.mget([prefix + "a", prefix + "missing", prefix + "bin"]) == [ByteBuffer(string: "alpha"), nil, binary])
            #expect(try await client.mget([]) == [])
        }
    }

    @Test func deleteCountsTheKeysThatExisted() async throws {
        let prefix = Self.prefix()
        try await Self.withClient { client in
            for name in ["x", "y"] { try await client.set(prefix + name, to: ByteBuffer(string: name)) }
            #expect(try await client.delete([prefix + "x", prefix + "y", prefix + "never"]) == 2)
            #expect(try await client.get(prefix + "x") == nil)
            #expect(try await client.delete([prefix + "x"]) == 0)
            #expect(try await client.delete([]) == 0)
        }
    }

    @Test func aThousandConcurrentIncrementsCountToAThousand() async throws {
        let key = Self.prefix() + "counter"
        try await Self.withClient(commandTimeout: .seconds(5)) { client in
            let results = try await withThrowingTaskGroup(of: Int64.self) { group in
                for _ in 0..<1_000 { group.addTask { try await client.increment(key) } }
                return try await group.reduce(into: [Int64]()) { $0.append($1) }
            }
            #expect(results.sorted() == Array(1...1_000))
            #expect(try await client.get(key) == ByteBuffer(string: "1000"))
        }
    }

    @Test func pipelinedRepliesReachTheirOwnCommands() async throws {
        let url = try await TestRedis.url()
        let connection = try await RedisConnection.connect(configuration: .patient(url), logger: quietLogger)
        let mismatches = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<1_000 {
                group.addTask {
                    let reply = try await connection.send(["ECHO", .integer(Int64(index))])
                    return reply == .bulkString(ByteBuffer(string: String(index)))
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 0 : 1) }
        }
        #expect(mismatches == 0)
        await connection.close()
        #expect(!connection.isActive)
        await #expect { try await connection.ping() } throws: { ($0 as? RedisError)?.kind == .connection }
    }

    @Test func errorRepliesAreTypedAndLeaveTheConnectionUsable() async throws {
        let prefix = Self.prefix()
        try await Self.withClient(connections: 1) { client in
            try await client.set(prefix + "text", to: ByteBuffer(string: "not a number"))
            await #expect { try await client.increment(prefix + "text") } throws: { error in
                guard let error = error as? RedisError else { return false }
                return error.kind == .server && error.serverCode == "ERR" && error.message.contains("not an integer")
            }
            _ = try await client.send(["RPUSH", .string(prefix + "list"), "a"])
            await #expect { try await client.get(prefix + "list") } throws: { ($0 as? RedisError)?.serverCode == "WRONGTYPE" }
            await #expect { try await client.send(["NOSUCHCOMMAND"]) } throws: { ($0 as? RedisError)?.kind == .server }
            try await client.ping()
        }
    }

    @Test func theURLsDatabaseIsSelected() async throws {
        let key = Self.prefix() + "db"
        var url = try await Self.sharedURL()
        url.database = 5
        try await Self.withClient(url: url) { client in
            try await client.set(key, to: ByteBuffer(string: "in five"))
            guard case .integer(let database) = try await client.send(["CLIENT", "INFO"]).database else { return }
            #expect(database == 5)
        }
        let inDatabaseZero = try await Self.withClient { client in try await client.get(key) }
        #expect(inDatabaseZero == nil)
        let inDatabaseFive = try await Self.withClient(url: url) { client in try await client.get(key) }
        #expect(inDatabaseFive == ByteBuffer(string: "in five"))
        #expect(try await Self.withClient(url: url) { client in try await client.delete([key]) } == 1)
    }

    @Test func aWrongPasswordIsAnAuthenticationError() async throws {
        var url = try await TestRedis.url()
        url.password = "wrong-password"
        await #expect {
            _ = try await RedisConnection.connect(configuration: .patient(url), logger: quietLogger)
        } throws: { error in
            guard let error = error as? RedisError else { return false }
            return error.kind == .authentication && error.message.contains("WRONGPASS")
        }
        url.password = nil
        let anonymous = try await RedisConnection.connect(configuration: .patient(url), logger: quietLogger)
        await #expect { try await anonymous.ping() } throws: { ($0 as? RedisError)?.kind == .authentication }
        await anonymous.close()

        url.password = "wrong-password"
        try await Self.withClient(url: url) { client in
            for _ in 0..<3 {
                await #expect { try await client.ping() } throws: { ($0 as? RedisError)?.kind == .authentication }
            }
        }
    }

    @Test func aCommandWithoutAReplyInTimeFailsAndTheClientRecovers() async throws {
        let key = Self.prefix() + "empty-list"
        try await Self.withClient(connections: 2) { client in
            try await client.ping()
            let start = ContinuousClock.now
            // BLPOP blocks for 5 s on an empty list: longer than this command's timeout.
            await #expect { try await client.send(["BLPOP", .string(key), "5"], timeout: .milliseconds(500)) } throws: {
                ($0 as? RedisError)?.kind == .timeout
            }
            #expect(ContinuousClock.now - start < .seconds(4))
            // The timed-out connection is closed; the pool goes on with its other one and reconnects.
            try await client.ping()
            try await client.ping()
        }

        let url = try await TestRedis.url()
        let connection = try await RedisConnection.connect(configuration: .patient(url), logger: quietLogger)
        await #expect { try await connection.send(["BLPOP", .string(key), "5"], timeout: .milliseconds(200)) } throws: {
            ($0 as? RedisError)?.kind == .timeout
        }
        // Its replies could no longer be matched to commands: it is closed.
        await connection.closed()
        #expect(!connection.isActive)
    }

    @Test func outOfMemoryIsItsOwnKind() async throws {
        try await TestRedis.withPrivateRedis { _, url in
            try await Self.withClient(url: url, connections: 1) { client in
                _ = try await client.send(["CONFIG", "SET", "maxmemory-policy", "noeviction"])
                _ = try await client.send(["CONFIG", "SET", "maxmemory", "1"])
                await #expect { try await client.set("k", to: ByteBuffer(string: "v")) } throws: { error in
                    guard let error = error as? RedisError else { return false }
                    return error.kind == .outOfMemory && error.serverCode == "OOM"
                }
            }
        }
    }

    @Test func commandsFailFastWhileRedisIsDownAndSucceedOnceItIsBack() async throws {
        try await TestRedis.withPrivateRedis { cluster, url in
            try await Self.withClient(
                url: url,
                connections: 2,
                commandTimeout: .seconds(10),
                backoff: .init(initial: .milliseconds(20), maximum: .milliseconds(300))
            ) { client in
                try await client.set("kept", to: ByteBuffer(string: "before"))
                #expect(try await client.get("kept") == ByteBuffer(string: "before"))

                try await cluster.stop(component: "redis")
                for _ in 0..<5 {
                    let start = ContinuousClock.now
                    await #expect { try await client.get("kept") } throws: { ($0 as? RedisError)?.kind == .connection }
                    // Far less than the command timeout: nothing waits for a server that is not there.
                    #expect(ContinuousClock.now - start < .seconds(3))
                }

                _ = try await cluster.up()
                var recovered = false
                for _ in 0..<100 {
                    if (try? await client.ping()) != nil {
                        recovered = true
                        break
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(recovered)
                // A cache: nothing survives a restart.
                #expect(try await client.get("kept") == nil)
                try await client.set("kept", to: ByteBuffer(string: "after"))
                #expect(try await client.get("kept") == ByteBuffer(string: "after"))
            }
        }
    }

    @Test func aClientThatHasShutDownSaysSo() async throws {
        let url = try await TestRedis.url()
        let client = RedisClient(configuration: .init(url: url, commandTimeout: .seconds(5), connectTimeout: .seconds(5)), logger: quietLogger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            try await client.ping()
            group.cancelAll()
        }
        await #expect { try await client.ping() } throws: { ($0 as? RedisError)?.kind == .shutdown }
    }

    // MARK: - Helpers

    /// Keys of one test: the shared Redis serves all tests at once.
    private static func prefix() -> String { "test:\(UUID().uuidString.prefix(8)):" }

    /// The shared test Redis, database 1: the server's cache tests use database 0,
    /// and their cache empties it (`FLUSHDB`) when its breaker closes.
    private static func sharedURL() async throws -> RedisURL {
        var url = try await TestRedis.url()
        url.database = 1
        return url
    }

    /// Runs `body` with a running client on `url` (the shared test Redis by default),
    /// with timeouts for a loaded test machine unless the test is about them.
    private static func withClient<T: Sendable>(
        url: RedisURL? = nil,
        connections: Int = 4,
        commandTimeout: Duration = .seconds(5),
        backoff: RedisClient.Configuration.Backoff = .init(),
        _ body: @Sendable (RedisClient) async throws -> T
    ) async throws -> T {
        let url = if let url { url } else { try await Self.sharedURL() }
        let client = RedisClient(
            configuration: .init(
                url: url,
                connections: connections,
                commandTimeout: commandTimeout,
                connectTimeout: .seconds(5),
                backoff: backoff
            ),
            logger: quietLogger
        )
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }
}

extension RESPValue {
    /// `db=N` of a `CLIENT INFO` reply.
    fileprivate var database: RESPValue? {
        guard case .bulkString(let buffer?) = self else { return nil }
        let field = String(buffer: buffer).split(separator: " ").first { $0.hasPrefix("db=") }
        return field.flatMap { Int64($0.dropFirst(3)) }.map(RESPValue.integer)
    }
}

extension RedisConnection.Configuration {
    /// Timeouts for a loaded test machine (the whole suite runs in parallel on 2
    /// cores), for tests that are not about timeouts.
    static func patient(_ url: RedisURL) -> Self {
        .init(url: url, commandTimeout: .seconds(5), connectTimeout: .seconds(5))
    }
}
