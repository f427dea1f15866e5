import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization
import TesseraCore
import TesseraStore
import TesseraTestSupport
import Testing

/// The `fast` write path without HTTP: an `IngestPipeline` running as a service against
/// a real PostgreSQL, with the pool, `PartitionGuard`, `IngestResolver` and `Catalog`
/// built the way `ServerDependencies` builds them. Tests make tenants and attributes
/// through the catalog, resolve points into rows and call `submit`: a point is
/// acknowledged exactly when `submit` returned.
///
/// `run` stops the pipeline with a graceful shutdown (it drains) when the body ends; a
/// body may stop it earlier with `stop()`, and read the database after it (the pool
/// runs until `run` returns).
final class PipelineHarness: Sendable {
    let url: DatabaseURL
    /// The superuser's pool on the primary: the test's own reads, behind the tenant wall.
    let client: PostgresClient
    /// The server role's pool (`tessera_app`, under row-level security): the pipeline's
    /// flushes and checks, the catalog, the resolver, as in a server.
    let serverClient: PostgresClient
    let catalog: Catalog
    let partitions: PartitionGuard
    let resolver: IngestResolver
    let pipeline: IngestPipeline
    /// The clock the pipeline runs on, when it is a test clock: `stop()` moves it.
    let testClock: TestClock?
    private let group: ServiceGroup
    private let running: Task<Void, any Error>
    private let stopRequested = Mutex(false)

    private init(
        url: DatabaseURL,
        client: PostgresClient,
        serverClient: PostgresClient,
        resolverRules: IngestResolver.Rules,
        configuration: IngestPipeline.Configuration,
        testClock: TestClock?
    ) throws {
        let partitions = PartitionGuard(client: serverClient, logger: quietLogger)
        let pipeline = try IngestPipeline(
            configuration: configuration,
            stagingURL: ServerRole.url(for: url),
            primary: serverClient,
            partitions: partitions,
            clock: testClock?.clock ?? .continuous,
            logger: quietLogger
        )
        let group = ServiceGroup(configuration: .init(services: [pipeline], logger: quietLogger))
        self.url = url
        self.client = client
        self.serverClient = serverClient
        self.catalog = Catalog(client: serverClient, logger: quietLogger)
        self.partitions = partitions
        self.resolver = IngestResolver(client: serverClient, rules: resolverRules, logger: quietLogger)
        self.pipeline = pipeline
        self.testClock = testClock
        self.group = group
        self.running = Task { try await group.run() }
    }

    /// Runs `body` with a running pipeline on `database` (default: a new database of the
    /// shared test cluster, migrated, so no other server's flusher touches its staging
    /// table), then stops it gracefully. On `testClock`, the pipeline's flusher, drain
    /// and patience wait on that clock; otherwise on the continuous one. The whole run
    /// fails after `limit`.
    static func run<T: Sendable>(
        database: DatabaseURL? = nil,
        configuration: IngestPipeline.Configuration = .init(writers: 1),
        testClock: TestClock? = nil,
        resolverRules: IngestResolver.Rules = .init(),
        poolSize: Int = 4,
        within limit: Duration = .seconds(120),
        _ body: @escaping @Sendable (PipelineHarness) async throws -> T
    ) async throws -> T {
        let url: DatabaseURL
        if let database { url = database } else { url = try await Self.migratedDatabase() }
        return try await Deadline.run(within: limit, "a pipeline test on \(url.host):\(url.port)/\(url.database)") {
            try await PostgresClient.withRunning(url: url, maximumConnections: 2, logger: quietLogger) { client in
                try await PostgresClient.withRunning(url: ServerRole.url(for: url), maximumConnections: poolSize, logger: quietLogger) { serverClient in
                    let harness = try PipelineHarness(
                        url: url,
                        client: client,
                        serverClient: serverClient,
                        resolverRules: resolverRules,
                        configuration: configuration,
                        testClock: testClock
                    )
                    return try await withTaskCancellationHandler {
                        let result: T
                        do {
                            result = try await body(harness)
                        } catch {
                            try? await harness.stop()
                            throw error
                        }
                        try await harness.stop()
                        return result
                    } onCancel: {
                        harness.running.cancel()
                    }
                }
            }
        }
    }

    /// A new database on the shared test cluster, migrated.
    static func migratedDatabase() async throws -> DatabaseURL {
        let database = try await TestCluster.freshDatabase()
        try await withTestClient(url: database) { client in _ = try await Migrator(client: client, logger: quietLogger).migrate() }
        return database
    }

    // MARK: - Stopping

    /// Gracefully shuts the pipeline down and returns once its `run()` has returned (it
    /// drains first: writers empty the queue, the flusher confirms what was staged). On
    /// a test clock, the clock is moved on 20 ms at a time, and only while something
    /// sleeps on it (the drain's polls do), until then. Calling it again waits for the same end.
    func stop() async throws {
        let first = self.stopRequested.withLock { requested in
            defer { requested = true }
            return !requested
        }
        if first { await self.group.triggerGracefulShutdown() }
        if let testClock = self.testClock {
            let running = self.running
            await withTaskGroup(of: Void.self) { group in
                group.addTask { _ = try? await running.value }
                group.addTask {
                    while !Task.isCancelled {
                        if testClock.sleepers > 0 { testClock.advance(by: .milliseconds(20)) }
                        try? await Task.sleep(for: .milliseconds(5))
                    }
                }
                await group.next()
                group.cancelAll()
            }
        }
        try await self.running.value
    }

    // MARK: - Catalog and points

    /// A new tenant (default settings: attributes are created on first sight), with these attributes.
    func tenant(_ prefix: String, attributes: [AttributeDefinition] = []) async throws -> Tenant {
        let (tenant, _) = try await self.catalog.createTenant(name: "\(prefix)-\(UUID().uuidString.prefix(12))")
        for definition in attributes {
            let (_, created) = try await self.catalog.putAttribute(definition, tenant: tenant)
            #expect(created, "attribute \(definition.name) was not created")
        }
        return tenant
    }

    /// An integer point as a client sends it; `micros` nil means "now".
    static func point(_ entity: String, _ attribute: String, _ value: Int, at micros: Int64? = nil, index: Int = 0) -> IncomingPoint {
        IncomingPoint(
            entityKey: entity,
            attribute: attribute,
            value: .json(.number(literal: String(value), isInteger: true)),
            timestamp: micros,
            index: index
        )
    }

    /// The points resolved into rows, as the server resolves a request's chunk (entities
    /// and, on an auto-creating tenant, attributes made as needed); none may be rejected.
    func rows(_ points: [IncomingPoint], tenant: Tenant, sourceLocation: SourceLocation = #_sourceLocation) async throws(TesseraError) -> [IngestRow] {
        let resolution = try await self.resolver.resolve(points, tenant: tenant, nowMicros: Self.nowMicros())
        #expect(resolution.rejections.isEmpty, "rejected: \(resolution.rejections.prefix(3))", sourceLocation: sourceLocation)
        return resolution.rows
    }

    /// Resolves the points and submits them, as the server does with a request's first
    /// chunk (no patience): returns once they are staged, that is acknowledged.
    @discardableResult
    func submit(
        _ points: [IncomingPoint],
        tenant: Tenant,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws(TesseraError) -> IngestPipeline.Staged {
        let rows = try await self.rows(points, tenant: tenant, sourceLocation: sourceLocation)
        return try await self.pipeline.submit(rows, tenant: tenant.id)
    }

    static func nowMicros() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1_000_000).rounded())
    }

    // MARK: - Reading the database

    /// The first column of the first row `sql` answers (an integer, or NULL), or nil for no row.
    func number(_ sql: String) async throws -> Int? {
        let rows = try await self.client.query(PostgresQuery(unsafeSQL: sql), logger: quietLogger)
        for try await value in rows.decode(Int?.self) { return value }
        return nil
    }

    /// The tenant's points in the time series (flushed).
    func storedPoints(tenant: Tenant) async throws -> Int {
        try await self.number("SELECT count(*)::int FROM entity_values_ts WHERE tenant_id = \(tenant.id)") ?? 0
    }

    /// The tenant's rows in the staging table (staged, not flushed).
    func stagedPoints(tenant: Tenant) async throws -> Int {
        try await self.number("SELECT count(*)::int FROM entity_values_ingest WHERE tenant_id = \(tenant.id)") ?? 0
    }

    /// Waits (on the real clock, up to `limit`) until the pipeline has seen every
    /// acknowledged batch flushed.
    func waitUntilFlushed(within limit: Duration = .seconds(30), sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let deadline = ContinuousClock.now + limit
        while self.pipeline.unflushedPoints > 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(self.pipeline.unflushedPoints == 0, sourceLocation: sourceLocation)
    }
}
