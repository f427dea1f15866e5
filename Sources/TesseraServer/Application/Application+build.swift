import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import TesseraCore
import TesseraRouting
import TesseraStore

/// The router with every route and middleware, in the order they apply:
/// metrics outermost (it sees the final status), then problem responses, then auth.
package func buildRouter(configuration: ServerConfiguration, dependencies: ServerDependencies) -> Router<TesseraRequestContext> {
    let router = Router(context: TesseraRequestContext.self)
    router.add(middleware: RequestIDMiddleware())
    if configuration.accessLog { router.add(middleware: AccessLogMiddleware()) }
    router.add(middleware: RequestMetricsMiddleware(registry: dependencies.metrics))
    router.add(middleware: ProblemMiddleware())

    OperationsController(
        migrator: dependencies.migrator,
        health: HealthCache(client: dependencies.primary),
        metrics: dependencies.metrics,
        refresh: dependencies.refreshGauges
    ).addRoutes(to: router)
    InfluxController(catalog: dependencies.catalog, services: dependencies.ingest, audit: dependencies.audit).addRoutes(
        to: router.group().add(middleware: InfluxProblemMiddleware())
    )

    let v1 = router.group("v1")
    TenantController(catalog: dependencies.catalog, maxBodyBytes: configuration.maxBodyBytes)
        .addRoutes(
            to: v1.group("tenants").add(middleware: AdminAuthMiddleware(adminToken: configuration.adminToken))
                .add(middleware: AuditMiddleware(trail: dependencies.audit, actor: .admin, tenantFromPath: true))
        )

    // Every request with a tenant's key is audited, once answered.
    let audited = AuditMiddleware(trail: dependencies.audit, actor: .key)
    let tenantScoped = v1.group().add(
        middleware: TenantAuthMiddleware(catalog: dependencies.catalog, limits: dependencies.ingest.limits, audit: dependencies.audit)
    )
    .add(middleware: audited)
    AttributeController(catalog: dependencies.catalog, attributes: dependencies.reads.attributes, maxBodyBytes: configuration.maxBodyBytes)
        .addRoutes(to: tenantScoped.group("attributes").add(middleware: CommitPositionMiddleware(primary: dependencies.primary)))
    let commitPosition = CommitPositionMiddleware(primary: dependencies.primary)
    EntityController(
        catalog: dependencies.catalog,
        attributes: dependencies.reads.attributes,
        resolver: dependencies.ingest.resolver,
        feed: dependencies.ingest.pipeline.feed,
        vault: dependencies.vault,
        maxBodyBytes: configuration.maxBodyBytes
    )
    .addRoutes(to: tenantScoped.group("entities").add(middleware: commitPosition))
    EntityReadController(reads: dependencies.reads).addRoutes(to: tenantScoped.group("entities"))
    ErasureController(
        catalog: dependencies.catalog,
        attributes: dependencies.reads.attributes,
        resolver: dependencies.ingest.resolver,
        feed: dependencies.ingest.pipeline.feed,
        vault: dependencies.vault
    )
    .addRoutes(
        entities: tenantScoped.group("entities").add(middleware: commitPosition),
        subjects: tenantScoped.group("subjects").add(middleware: commitPosition)
    )
    // Exports stream pages of up to 5,000 points: off the connection's event loop.
    ExportController(catalog: dependencies.catalog, reads: dependencies.reads)
        .addRoutes(
            entities: tenantScoped.group("entities").add(middleware: GlobalExecutorMiddleware()),
            subjects: tenantScoped.group("subjects").add(middleware: GlobalExecutorMiddleware())
        )
    // Filters and aggregates may read and render up to 100k rows: off the connection's event loop.
    // A query is a POST that only reads: scope read.
    let readers = v1.group().add(
        middleware: TenantAuthMiddleware(
            catalog: dependencies.catalog,
            limits: dependencies.ingest.limits,
            requirement: .scope(.read),
            audit: dependencies.audit
        )
    ).add(middleware: audited)
    QueryController(reads: dependencies.reads, maxBodyBytes: configuration.maxBodyBytes)
        .addRoutes(to: readers.group("query").add(middleware: GlobalExecutorMiddleware()))
    IngestController(services: dependencies.ingest, primary: dependencies.primary)
        .addRoutes(to: tenantScoped.group("ingest").add(middleware: GlobalExecutorMiddleware()))
    let limits = dependencies.ingest.limits
    let admins = v1.group().add(
        middleware: TenantAuthMiddleware(catalog: dependencies.catalog, limits: limits, requirement: .scope(.admin), audit: dependencies.audit)
    )
    .add(middleware: audited)
    KeyController(catalog: dependencies.catalog, maxBodyBytes: configuration.maxBodyBytes).addRoutes(to: admins.group("keys"))
    AuditController(primary: dependencies.primary).addRoutes(to: admins.group("audit"))
    return router
}

/// The HTTP application, with the Postgres pool and background services attached
/// so they start before it serves and stop after it drains.
package func buildApplication(
    configuration: ServerConfiguration,
    dependencies: ServerDependencies,
    logger: Logger
) -> Application<RouterResponder<TesseraRequestContext>> {
    // `100 Continue` only for a request whose key is the admin token or a tenant's.
    let catalog = dependencies.catalog
    let adminToken = configuration.adminToken
    let continueVerifier: ExpectContinueHandler.Verifier = { head in
        let password = head.path.flatMap { URLComponents(string: $0)?.queryItems?.first { $0.name == "p" }?.value }
        guard let token = InfluxController.credential(authorization: head.headerFields[.authorization], password: password) else { return false }
        if BearerToken.constantTimeEquals(token, adminToken) { return true }
        return (try? await catalog.tenant(forKey: APIKey(value: token))) != nil
    }
    let server = HTTPServerBuilder.http1(
        configuration: .init(
            additionalChannelHandlers: [ExpectContinueHandler(verify: continueVerifier)],
            idleTimeout: .nanoseconds(Int64(configuration.idleTimeout / .nanoseconds(1)))
        ),
        onEventLoop: configuration.handlersOnEventLoop,
        tls: configuration.tls?.configuration
    )
    var app = Application(
        router: buildRouter(configuration: configuration, dependencies: dependencies),
        server: server,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "tessera"),
        logger: logger
    )
    // A graceful shutdown stops services in the reverse of this order, after the HTTP
    // server: the pipeline first (its drain flushes what was staged and tells the cache),
    // so Redis and the primary must come before it here, and outlive it.
    app.addServices(dependencies.clusterServices)
    app.addServices(dependencies.primary)
    if let redis = dependencies.redis { app.addServices(redis) }
    if let vault = dependencies.vault { app.addServices(vault.client) }
    app.addServices(dependencies.readPools)
    app.addServices(dependencies.lagMonitor)
    // The audit trail outlives the pipeline's drain too: it appends what is left last.
    app.addServices(dependencies.audit)
    app.addServices(
        PartitionMaintainer(client: dependencies.primary, logger: logger),
        HeartbeatWriter(primary: dependencies.primary, logger: logger),
        dependencies.ingest.pipeline
    )
    if let retention = dependencies.retention { app.addServices(retention) }
    return app
}
