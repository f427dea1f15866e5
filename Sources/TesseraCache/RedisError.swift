/// Every failure of the Redis client: a `kind` callers switch on (a cache treats a
/// timeout or a lost connection as a miss, an out-of-memory as a skipped write), and
/// a message that is safe to print (the server's own error line, or ours; never a
/// key, a value or a password).
package struct RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    package var kind: Kind
    package var message: String

    /// Stable: logs and metrics carry the raw value.
    package enum Kind: String, Sendable, CaseIterable {
        /// An error reply (`-ERR …`, `-WRONGTYPE …`): the command was wrong, the connection is fine.
        case server = "server"
        /// `-OOM …`: Redis is at `maxmemory` and its policy does not evict.
        case outOfMemory = "out_of_memory"
        /// `-NOAUTH`, `-WRONGPASS`, `-NOPERM`: the URL's credentials are wrong or lack a right.
        case authentication = "authentication"
        /// No reply within the command timeout; the connection is closed.
        case timeout = "timeout"
        /// Could not connect, or the connection was lost; no server is reachable right now.
        case connection = "connection"
        /// The server sent bytes that are not RESP2, or a reply of a type the command never returns.
        case protocolViolation = "protocol_violation"
        /// The waiting task was cancelled.
        case cancelled = "cancelled"
        /// The client has shut down.
        case shutdown = "shutdown"
    }

    package init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The error of an error reply, by its first word (`ERR`, `OOM`, `WRONGPASS`, …).
    package init(serverReply line: String) {
        let code = line.prefix { $0 != " " }
        switch code {
        case "OOM": self.init(.outOfMemory, line)
        case "NOAUTH", "WRONGPASS", "NOPERM": self.init(.authentication, line)
        default: self.init(.server, line)
        }
    }

    /// The first word of a server error (`ERR`, `WRONGTYPE`, `OOM`), else nil.
    package var serverCode: String? {
        switch self.kind {
        case .server, .outOfMemory, .authentication:
            let word = self.message.prefix { $0 != " " }
            return !word.isEmpty && word.allSatisfy({ $0.isUppercase || $0 == "_" }) ? String(word) : nil
        default:
            return nil
        }
    }

    package var description: String { "Redis \(self.kind.rawValue): \(self.message)" }
}
