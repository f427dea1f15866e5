import TesseraCore

/// Where a read may go, as a pure function of what the lag monitor and the
/// breakers last saw: the candidates in the order to try them.
///
/// - `strong`: the primary only.
/// - `eventual`: healthy replicas under the lag threshold, least lagged first,
///   then the primary.
/// - `analytics`: the analytics node, then the eventual order.
///
/// With a minimum commit position (read-your-writes), a replica or analytics node
/// qualifies only if it has replayed that far. The primary is always last: it is
/// the answer of last resort, whatever its breaker says.
package struct RoutingPolicy: Sendable {
    package struct Configuration: Sendable {
        /// A replica lagging this much or more gets no `eventual` read.
        package var maxReplicaLagMilliseconds: Double

        package init(maxReplicaLagMilliseconds: Double = 3_000) {
            self.maxReplicaLagMilliseconds = maxReplicaLagMilliseconds
        }
    }

    /// What the router knows about one node right now.
    package struct NodeView: Sendable, Equatable {
        package var name: String
        package var role: ReadNode.Role
        /// Estimated replay lag; nil when unknown (never measured, or the last reading failed).
        package var lagMilliseconds: Double?
        /// The WAL position the node has replayed (nil for the primary or when unknown).
        package var replayed: LogSequenceNumber?
        /// False while the node's breaker is open or half-open.
        package var available: Bool

        package init(name: String, role: ReadNode.Role, lagMilliseconds: Double?, replayed: LogSequenceNumber?, available: Bool) {
            self.name = name
            self.role = role
            self.lagMilliseconds = lagMilliseconds
            self.replayed = replayed
            self.available = available
        }
    }

    package var configuration: Configuration

    package init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    /// Node names to try, best first; never empty when a primary is among `nodes`.
    package func candidates(for consistency: Consistency, minimum: LogSequenceNumber?, nodes: [NodeView]) -> [String] {
        let primary = nodes.filter { $0.role == .primary }.map(\.name)
        switch consistency {
        case .strong:
            return primary
        case .eventual:
            return self.replicas(nodes, minimum: minimum) + primary
        case .analytics:
            let analytics = nodes.filter { node in
                node.role == .analytics && node.available && self.hasReplayed(node, minimum)
            }
            return analytics.map(\.name) + self.replicas(nodes, minimum: minimum) + primary
        }
    }

    private func replicas(_ nodes: [NodeView], minimum: LogSequenceNumber?) -> [String] {
        nodes.filter { node in
            guard node.role == .replica, node.available, let lag = node.lagMilliseconds else { return false }
            return lag < self.configuration.maxReplicaLagMilliseconds && self.hasReplayed(node, minimum)
        }
        .sorted { ($0.lagMilliseconds!, $0.name) < ($1.lagMilliseconds!, $1.name) }
        .map(\.name)
    }

    private func hasReplayed(_ node: NodeView, _ minimum: LogSequenceNumber?) -> Bool {
        guard let minimum else { return true }
        guard let replayed = node.replayed else { return false }
        return replayed >= minimum
    }
}
