import Logging
import PostgresNIO
import Prometheus
import TesseraCore
import TesseraStore

/// What the HTTP layer talks to. The Postgres client must be running (it is a
/// service of the application, or of the caller's service group).
package struct ServerDependencies: Sendable {
    package var primary: PostgresClient
    package var catalog: Catalog
    package var migrator: Migrator
    package var metrics: PrometheusCollectorRegistry
    /// The pool the write path stages through (sessions at `synchronous_commit=off`).
    package var staging: PostgresClient
    package var ingest: IngestServices

    /// Builds every component on the primary's URL: two pools (the primary's, and the
    /// staging pool for COPY) that must run as services (see `services`).
    package init(
        primaryURL: DatabaseURL,
        poolSize: Int = 20,
        ingest configuration: IngestPipeline.Configuration = .init(),
        resolverRules: IngestResolver.Rules = .init(),
        maxIngestBodyBytes: Int = 256 << 20,
        metrics: PrometheusCollectorRegistry,
        logger: Logger
    ) throws {
        let primary = PostgresClient(configuration: .init(url: primaryURL, maximumConnections: poolSize), backgroundLogger: logger)
        var stagingConfiguration = PostgresClient.Configuration(url: primaryURL, maximumConnections: max(2, configuration.writers + 1))
        stagingConfiguration.options.additionalStartupParameters = [("synchronous_commit", "off")]
        let staging = PostgresClient(configuration: stagingConfiguration, backgroundLogger: logger)
        let partitions = PartitionGuard(client: primary, logger: logger)
        self.primary = primary
        self.staging = staging
        self.catalog = Catalog(client: primary, logger: logger)
        self.migrator = try Migrator(client: primary, logger: logger)
        self.metrics = metrics
        self.ingest = IngestServices(
            resolver: IngestResolver(client: primary, rules: resolverRules, logger: logger),
            pipeline: IngestPipeline(configuration: configuration, staging: staging, primary: primary, partitions: partitions, logger: logger),
            safeWriter: SafeWriter(primary: primary, partitions: partitions, logger: logger),
            maxBodyBytes: maxIngestBodyBytes
        )
    }
}
