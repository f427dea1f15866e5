import Logging
import PostgresNIO
import Prometheus
import ServiceLifecycle
import TesseraCache
import TesseraCore
import TesseraRouting
import TesseraStore

/// What the HTTP layer talks to. The Postgres client must be running (it is a
/// service of the application, or of the caller's service group).
package struct ServerDependencies: Sendable {
    package var primary: PostgresClient
    package var catalog: Catalog
    package var migrator: Migrator
    package var metrics: PrometheusCollectorRegistry
    /// Every metric of the server's modules goes into `metrics` through this, with its HELP text.
    package var metricsFactory: DescribedMetricsFactory
    package var ingest: IngestServices
    /// The read side: a pool per node (its own for the primary), the router and its lag monitor.
    package var reads: ReadServices
    package var readPools: [PostgresClient]
    package var lagMonitor: LagMonitor
    /// The Redis pool behind the read cache, when there is one (a service).
    package var redis: RedisClient?
    /// The audit trail's batches of entries (a service).
    package var audit: AuditTrail
    /// Per-tenant retention on a schedule (a service), unless turned off.
    package var retention: RetentionService?
    /// The entities' data keys, for `pii` values; nil without a master key and a vault.
    /// Its pool is a service.
    package var vault: DataKeyVault?
    /// Services the pools depend on, started first and stopped last: with Patroni, the
    /// watcher of the cluster and the proxy to its leader (`PatroniFollower`).
    package var clusterServices: [any Service]

    /// Where the data keys of `pii` values are kept, and the key that wraps them.
    package struct PrivacySettings: Sendable {
        package var vaultURL: DatabaseURL
        package var masterKey: MasterKey

        package init(vaultURL: DatabaseURL, masterKey: MasterKey) {
            self.vaultURL = vaultURL
            self.masterKey = masterKey
        }
    }

    /// The read cache: where Redis is and how long entries live.
    package struct CacheSettings: Sendable {
        package var redis: RedisClient.Configuration
        package var cache: ReadCache.Configuration

        package init(redis: RedisClient.Configuration, cache: ReadCache.Configuration = .init()) {
            self.redis = redis
            self.cache = cache
        }
    }

    /// Where reads may go besides the primary.
    package struct ReadTopology: Sendable {
        package var replicas: [DatabaseURL]
        package var analytics: DatabaseURL?
        /// Connections per node for reads.
        package var poolSize: Int
        package var router: ReadRouter.Configuration
        package var limits: ReadServices.Limits
        /// Entity lookups as named prepared statements (see `ReadServices`).
        package var preparedStatements: Bool
        /// The replicas' node names (`replica-1`, … when empty): with Patroni, the members'.
        package var replicaNames: [String]
        /// Whether a replica may take reads now (Patroni's view); nil: each may.
        package var admission: (@Sendable (String) -> Bool)?

        package init(
            replicaNames: [String] = [],
            admission: (@Sendable (String) -> Bool)? = nil,
            replicas: [DatabaseURL] = [],
            analytics: DatabaseURL? = nil,
            poolSize: Int = 10,
            router: ReadRouter.Configuration = .init(),
            limits: ReadServices.Limits = .init(),
            preparedStatements: Bool = true
        ) {
            self.replicaNames = replicaNames
            self.admission = admission
            self.replicas = replicas
            self.analytics = analytics
            self.poolSize = poolSize
            self.router = router
            self.limits = limits
            self.preparedStatements = preparedStatements
        }
    }

    /// Builds every component on the primary's URL: the primary's pool, which must run
    /// as a service (see `services`), and the write path's own staging connections.
    package init(
        primaryURL: DatabaseURL,
        poolSize: Int = 20,
        ingest configuration: IngestPipeline.Configuration = .init(),
        resolverRules: IngestResolver.Rules = .init(),
        maxIngestBodyBytes: Int = 256 << 20,
        tenantLimits: TenantLimits = TenantLimits(),
        readTopology: ReadTopology = .init(),
        cache cacheSettings: CacheSettings? = nil,
        privacy: PrivacySettings? = nil,
        retention: RetentionService.Configuration? = nil,
        archivedMonthsTTL: Duration = .seconds(5),
        clusterServices: [any Service] = [],
        metrics: PrometheusCollectorRegistry,
        logger: Logger
    ) throws {
        self.clusterServices = clusterServices
        let factory = DescribedMetricsFactory(registry: metrics, help: ServerMetrics.allHelp)
        let primary = Self.pool(primaryURL, size: poolSize, name: "primary", factory: factory, logger: logger)
        let partitions = PartitionGuard(client: primary, logger: logger)
        let feed = ProjectionFeed()
        self.primary = primary
        self.catalog = Catalog(client: primary, logger: logger)
        self.migrator = try Migrator(client: primary, logger: logger)
        self.audit = AuditTrail(client: primary, metrics: factory, logger: logger)
        self.metrics = metrics
        self.metricsFactory = factory
        _ = ServerMetrics(factory: factory, schemaVersion: self.migrator.buildVersion)
        let vault = privacy.map {
            DataKeyVault(
                client: Self.pool($0.vaultURL, size: 4, name: "vault", factory: factory, logger: logger),
                master: $0.masterKey,
                logger: logger
            )
        }
        self.vault = vault
        // Months archived to cold storage: ingest refuses their points, reads that reach them say so.
        let archived = ArchivedMonths(client: primary, ttl: archivedMonthsTTL, logger: logger)
        let resolver = IngestResolver(client: primary, rules: resolverRules, vault: vault, archivedMonths: archived, logger: logger)
        func pool(_ url: DatabaseURL, _ node: String) -> PostgresClient {
            Self.pool(url, size: readTopology.poolSize, name: "read-" + node, connectTimeout: .seconds(2), factory: factory, logger: logger)
        }
        func node(_ name: String, _ role: ReadNode.Role, _ url: DatabaseURL) -> ReadNode {
            ReadNode(name: name, role: role, client: pool(url, name), pooled: url.pooling == .transaction)
        }
        var nodes = [node("primary", .primary, primaryURL)]
        for (index, url) in readTopology.replicas.enumerated() {
            let name = index < readTopology.replicaNames.count ? readTopology.replicaNames[index] : "replica-\(index + 1)"
            nodes.append(node(name, .replica, url))
        }
        if let analytics = readTopology.analytics {
            nodes.append(node("analytics", .analytics, analytics))
        }
        let router = ReadRouter(
            nodes: nodes,
            configuration: readTopology.router,
            metrics: RouterMetrics(factory: factory),
            admission: readTopology.admission,
            logger: logger
        )
        var cache: ReadCache?
        if let cacheSettings {
            let redis = RedisClient(configuration: cacheSettings.redis, logger: logger)
            var settings = cacheSettings.cache
            // Tombstones must outlive the lag of any replica that still gets reads.
            settings.tombstoneTTL = max(settings.tombstoneTTL, .milliseconds(Int64(readTopology.router.policy.maxReplicaLagMilliseconds) + 2_000))
            let readCache = ReadCache(redis: redis, configuration: settings, metrics: CacheMetrics(factory: factory), logger: logger)
            feed.subscribe { change in await readCache.forget(change) }
            self.redis = redis
            cache = readCache
        } else {
            self.redis = nil
        }
        self.reads = ReadServices(
            router: router,
            attributes: resolver.attributes,
            cache: cache,
            vault: vault,
            archivedMonths: archived,
            limits: readTopology.limits,
            // pgbouncer 1.18 in transaction mode keeps no prepared statement: a named one
            // prepared on one server connection is missing (or already there) on the next.
            preparedStatements: readTopology.preparedStatements && primaryURL.pooling != .transaction,
            logger: logger
        )
        self.readPools = nodes.map(\.client)
        self.retention = retention.map { RetentionService(client: primary, configuration: $0, feed: feed, logger: logger) }
        self.lagMonitor = LagMonitor(router: router, logger: logger)
        self.ingest = IngestServices(
            resolver: resolver,
            pipeline: try IngestPipeline(
                configuration: configuration,
                stagingURL: primaryURL,
                primary: primary,
                partitions: partitions,
                feed: feed,
                metrics: IngestMetrics(factory: factory),
                logger: logger
            ),
            safeWriter: SafeWriter(primary: primary, partitions: partitions, feed: feed, patience: configuration.restagePatience, logger: logger),
            maxBodyBytes: maxIngestBodyBytes,
            limits: tenantLimits
        )
    }

    /// Records the gauges that age between events (flush lag, queue, replica lag,
    /// breakers); `/metrics` calls it before each scrape.
    package func refreshGauges() {
        self.ingest.pipeline.refreshGauges()
        self.reads.router.refreshGauges()
    }

    /// A pool named `name`: its connections say `tessera/<name>` as their `application_name`
    /// (so `pg_stat_activity` shows what each is for), and it counts them
    /// (`tessera_db_pool_connections_open`).
    static func pool(
        _ url: DatabaseURL,
        size: Int,
        name: String,
        connectTimeout: Duration? = nil,
        factory: DescribedMetricsFactory,
        logger: Logger
    ) -> PostgresClient {
        var configuration = PostgresClient.Configuration(url: url, maximumConnections: size)
        if let connectTimeout { configuration.options.connectTimeout = connectTimeout }
        configuration.options.additionalStartupParameters.append(("application_name", "tessera/" + name))
        return PostgresClient(configuration: configuration, backgroundLogger: PoolObserver(pool: name, factory: factory).logger(wrapping: logger))
    }
}
