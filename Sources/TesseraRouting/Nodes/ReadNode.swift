import PostgresNIO

/// A database node reads can go to, with its own connection pool.
package struct ReadNode: Sendable {
    package enum Role: String, Sendable {
        case primary
        case replica
        /// A node for heavy reads (rollups, long scans), if the deployment has one.
        case analytics
    }

    /// Stable name for responses and metrics: `primary`, `replica-1`, `analytics`.
    package var name: String
    package var role: Role
    /// The node's read pool; it must run as a service.
    package var client: PostgresClient
    /// Behind a transaction pooler: the router sets nothing on its sessions (see
    /// `StatementTimeout`).
    package var pooled: Bool

    package init(name: String, role: Role, client: PostgresClient, pooled: Bool = false) {
        self.name = name
        self.role = role
        self.client = client
        self.pooled = pooled
    }
}
