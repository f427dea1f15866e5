import Logging
import PostgresNIO
import Prometheus
import TesseraStore

/// What the HTTP layer talks to. The Postgres client must be running (it is a
/// service of the application, or of the caller's service group).
package struct ServerDependencies: Sendable {
    package var primary: PostgresClient
    package var catalog: Catalog
    package var migrator: Migrator
    package var metrics: PrometheusCollectorRegistry

    package init(primary: PostgresClient, metrics: PrometheusCollectorRegistry, logger: Logger) throws {
        self.primary = primary
        self.catalog = Catalog(client: primary, logger: logger)
        self.migrator = try Migrator(client: primary, logger: logger)
        self.metrics = metrics
    }
}
