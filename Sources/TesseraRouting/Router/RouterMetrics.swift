import Metrics

/// The read nodes as an operator watches them: each node's breaker, each replica's lag,
/// and the reads waiting for a connection of each node's pool. Recorded by
/// `ReadRouter.refreshGauges()` before each scrape, so a lag that grows while a replica is
/// unreachable shows as it grows.
package struct RouterMetrics: Sendable {
    package static let help: [String: String] = [
        "tessera_read_node_breaker_open": "1 while the node's breaker is open and it gets no reads (it failed), else 0.",
        "tessera_replica_lag_seconds":
            "How far the node's data may be behind the primary: its measured lag, or while it cannot be reached, its last lag plus the time since.",
        "tessera_db_pool_requests_waiting": "Reads waiting for a connection of the node's read pool.",
        "tessera_db_pool_connections_in_use": "Connections of the node's read pool leased to a read now.",
        "tessera_reads_total": "Reads answered, by consistency and source (primary, replica-N, analytics, or cache).",
    ]

    let factory: any MetricsFactory

    package init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
    }

    func served(consistency: String, node: String, count: Int) {
        Counter(label: "tessera_reads_total", dimensions: [("consistency", consistency), ("source", node)], factory: self.factory)
            .increment(by: count)
    }

    func breaker(node: String, role: String, open: Bool) {
        Gauge(label: "tessera_read_node_breaker_open", dimensions: [("node", node), ("role", role)], factory: self.factory).record(open ? 1 : 0)
    }

    func lag(node: String, seconds: Double) {
        Gauge(label: "tessera_replica_lag_seconds", dimensions: [("node", node)], factory: self.factory).record(seconds)
    }

    func pool(node: String, waiting: Int, inUse: Int) {
        Gauge(label: "tessera_db_pool_requests_waiting", dimensions: [("pool", "read-" + node)], factory: self.factory).record(waiting)
        Gauge(label: "tessera_db_pool_connections_in_use", dimensions: [("pool", "read-" + node)], factory: self.factory).record(inUse)
    }
}
