/// What `tessera cluster up --monitoring` runs beside the cluster (README: Operating
/// Tessera): Prometheus with the alert rules, and the PostgreSQL, node and Redis exporters.
package struct MonitoringSettings: Sendable, Equatable {
    /// The Tessera servers Prometheus scrapes (`/metrics`), as `host:port`.
    package var servers: [String]
    /// The project's `ops` folder: the alert rules (`prometheus/alerts.yml`) and the
    /// exporter's queries (`prometheus/postgres-exporter.yml`). Without it Prometheus runs
    /// with no rules and the exporter with its default metrics only.
    package var opsDirectory: String?
    /// How often Prometheus scrapes and evaluates the rules.
    package var interval: Duration

    package init(servers: [String] = ["127.0.0.1:8080"], opsDirectory: String? = nil, interval: Duration = .seconds(5)) {
        self.servers = servers
        self.opsDirectory = opsDirectory
        self.interval = interval
    }

    /// Prometheus' text for a duration: whole seconds, at least one.
    var intervalText: String { "\(max(1, self.interval.components.seconds))s" }
}
