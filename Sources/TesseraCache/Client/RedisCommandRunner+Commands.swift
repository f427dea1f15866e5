import NIOCore

/// The commands Tessera needs, typed. Keys are strings; values are bytes.
extension RedisCommandRunner {
    /// `PING`.
    package func ping() async throws(RedisError) {
        let reply = try await self.send(["PING"])
        guard case .simpleString("PONG") = reply else { throw Self.unexpected(reply, to: "PING") }
    }

    /// `GET key`: the value, or nil when the key does not exist.
    package func get(_ key: String) async throws(RedisError) -> ByteBuffer? {
        let reply = try await self.send(["GET", .string(key)])
        guard case .bulkString(let value) = reply else { throw Self.unexpected(reply, to: "GET") }
        return value
    }

    /// `MGET key…`: one value or nil per key, in order.
    package func mget(_ keys: [String]) async throws(RedisError) -> [ByteBuffer?] {
        guard !keys.isEmpty else { return [] }
        let reply = try await self.send(RedisCommand(["MGET"] + keys.map { .string($0) }))
        guard case .array(let elements?) = reply, elements.count == keys.count else { throw Self.unexpected(reply, to: "MGET") }
        var values = [ByteBuffer?]()
        values.reserveCapacity(elements.count)
        for element in elements {
            guard case .bulkString(let value) = element else { throw Self.unexpected(reply, to: "MGET") }
            values.append(value)
        }
        return values
    }

    /// `SET key value [PX ms]`: stores the value, expiring after `ttl` when given
    /// (rounded up to whole milliseconds, at least 1).
    package func set(_ key: String, to value: ByteBuffer, ttl: Duration? = nil) async throws(RedisError) {
        var command: RedisCommand = ["SET", .string(key), .bytes(value)]
        if let ttl {
            command.arguments += ["PX", .integer(Self.milliseconds(ttl))]
        }
        let reply = try await self.send(command)
        guard case .simpleString("OK") = reply else { throw Self.unexpected(reply, to: "SET") }
    }

    /// `DEL key…`: how many of the keys existed.
    @discardableResult
    package func delete(_ keys: [String]) async throws(RedisError) -> Int {
        guard !keys.isEmpty else { return 0 }
        let reply = try await self.send(RedisCommand(["DEL"] + keys.map { .string($0) }))
        guard case .integer(let count) = reply else { throw Self.unexpected(reply, to: "DEL") }
        return Int(count)
    }

    /// `INCR key`: the value after the increment (a missing key counts from 0).
    @discardableResult
    package func increment(_ key: String) async throws(RedisError) -> Int64 {
        let reply = try await self.send(["INCR", .string(key)])
        guard case .integer(let value) = reply else { throw Self.unexpected(reply, to: "INCR") }
        return value
    }

    /// Whole milliseconds, rounded up, at least 1 (Redis refuses `PX 0`).
    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds * 1_000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return max(milliseconds, 1)
    }

    private static func unexpected(_ reply: RESPValue, to command: String) -> RedisError {
        RedisError(.protocolViolation, "Unexpected reply to \(command): \(reply.kindName).")
    }
}

extension RESPValue {
    /// The reply's type, for errors (never its content).
    var kindName: String {
        switch self {
        case .simpleString: "simple string"
        case .error: "error"
        case .integer: "integer"
        case .bulkString(nil): "null bulk string"
        case .bulkString: "bulk string"
        case .array(nil): "null array"
        case .array: "array"
        }
    }
}

extension Duration {
    /// Whole milliseconds, for messages.
    var milliseconds: Int64 {
        self.components.seconds * 1_000 + self.components.attoseconds / 1_000_000_000_000_000
    }
}
