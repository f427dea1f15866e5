import Logging
import PostgresNIO
import Prometheus
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
    package var ingest: IngestServices
    /// The read side: a pool per node (its own for the primary), the router and its lag monitor.
    package var reads: ReadServices
    package var readPools: [PostgresClient]
    package var lagMonitor: LagMonitor
    /// The Redis pool behind the read cache, when there is one (a service).
    package var redis: RedisClient?
    /// The audit trail's batches of entries (a service).
    package var audit: AuditTrail
    /// The entities' data keys, for `pii` values; nil without a master key and a vault.
    /// Its pool is a service.
    package var vault: DataKeyVault?

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

        package init(
            replicas: [DatabaseURL] = [],
            analytics: DatabaseURL? = nil,
            poolSize: Int = 10,
            router: ReadRouter.Configuration = .init(),
            limits: ReadServices.Limits = .init(),
            preparedStatements: Bool = true
        ) {
            self.replicas = replicas
            self.analytics = analytics
            self.poolSize = poolSize
            self.router = router
            self.limits = limits
            self.preparedStatements = preparedStatements
        }
    }

    /// Builds every component on the primary's URL: the primary's pool, which must run
    /// as a service (see `services`), and the write path's own COPY connections.
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
        metrics: PrometheusCollectorRegistry,
        logger: Logger
    ) throws {
        let primary = PostgresClient(configuration: .init(url: primaryURL, maximumConnections: poolSize), backgroundLogger: logger)
        let partitions = PartitionGuard(client: primary, logger: logger)
        let feed = ProjectionFeed()
        self.primary = primary
        self.catalog = Catalog(client: primary, logger: logger)
        self.migrator = try Migrator(client: primary, logger: logger)
        self.audit = AuditTrail(client: primary, logger: logger)
        self.metrics = metrics
        let vault = privacy.map {
            DataKeyVault(
                client: PostgresClient(configuration: .init(url: $0.vaultURL, maximumConnections: 4), backgroundLogger: logger),
                master: $0.masterKey,
                logger: logger
            )
        }
        self.vault = vault
        let resolver = IngestResolver(client: primary, rules: resolverRules, vault: vault, logger: logger)
        var nodes = [ReadNode(name: "primary", role: .primary, client: Self.readPool(primaryURL, readTopology, logger))]
        for (index, url) in readTopology.replicas.enumerated() {
            nodes.append(ReadNode(name: "replica-\(index + 1)", role: .replica, client: Self.readPool(url, readTopology, logger)))
        }
        if let analytics = readTopology.analytics {
            nodes.append(ReadNode(name: "analytics", role: .analytics, client: Self.readPool(analytics, readTopology, logger)))
        }
        let router = ReadRouter(nodes: nodes, configuration: readTopology.router, logger: logger)
        var cache: ReadCache?
        if let cacheSettings {
            let redis = RedisClient(configuration: cacheSettings.redis, logger: logger)
            var settings = cacheSettings.cache
            // Tombstones must outlive the lag of any replica that still gets reads.
            settings.tombstoneTTL = max(settings.tombstoneTTL, .milliseconds(Int64(readTopology.router.policy.maxReplicaLagMilliseconds) + 2_000))
            let readCache = ReadCache(redis: redis, configuration: settings, logger: logger)
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
            limits: readTopology.limits,
            preparedStatements: readTopology.preparedStatements,
            logger: logger
        )
        self.readPools = nodes.map(\.client)
        self.lagMonitor = LagMonitor(router: router, logger: logger)
        self.ingest = IngestServices(
            resolver: resolver,
            pipeline: try IngestPipeline(
                configuration: configuration,
                stagingURL: primaryURL,
                primary: primary,
                partitions: partitions,
                feed: feed,
                logger: logger
            ),
            safeWriter: SafeWriter(primary: primary, partitions: partitions, feed: feed, logger: logger),
            maxBodyBytes: maxIngestBodyBytes,
            limits: tenantLimits
        )
    }

    static func readPool(_ url: DatabaseURL, _ topology: ReadTopology, _ logger: Logger) -> PostgresClient {
        var configuration = PostgresClient.Configuration(url: url, maximumConnections: topology.poolSize)
        configuration.options.connectTimeout = .seconds(2)
        return PostgresClient(configuration: configuration, backgroundLogger: logger)
    }
}
