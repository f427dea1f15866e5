import PostgresNIO
import Synchronization

/// Whether a read runs as a named prepared statement on a given connection.
///
/// PostgresNIO remembers a statement whose preparation failed (its Parse waited
/// past the statement timeout behind a lock, say) as failed for the rest of the
/// connection's life, and every later execution there fails the same way. A
/// connection on which a prepared execution failed therefore runs unnamed
/// statements from then on.
package final class PreparedStatementPolicy: Sendable {
    package let enabled: Bool
    private let refused = Mutex<Set<ObjectIdentifier>>([])

    package init(enabled: Bool) {
        self.enabled = enabled
    }

    func allows(_ connection: PostgresConnection) -> Bool {
        self.enabled && !self.refused.withLock { $0.contains(ObjectIdentifier(connection)) }
    }

    func failed(on connection: PostgresConnection) {
        self.refused.withLock { refused in
            // Entries of closed connections only cost a lookup; keep the set small anyway.
            if refused.count >= 10_000 { refused.removeAll() }
            refused.insert(ObjectIdentifier(connection))
        }
    }

    /// Connections that run unnamed statements after a prepared one failed there.
    package var refusedConnections: Int { self.refused.withLock { $0.count } }
}
