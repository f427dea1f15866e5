import Logging
import PostgresNIO
import TesseraCache
import TesseraCore
import TesseraRouting
import TesseraStore

/// What the read endpoints use: the router over the nodes, the attribute catalog
/// (shared with ingest), the cache-aside path, and the limits on what one read may ask for.
package struct ReadServices: Sendable {
    package struct Limits: Sendable {
        package var aggregate: AggregateQuery.Limits
        /// Rows one aggregate may answer with (buckets × entities when grouped).
        package var maxAggregateRows: Int

        package init(aggregate: AggregateQuery.Limits = .init(), maxAggregateRows: Int = 100_000) {
            self.aggregate = aggregate
            self.maxAggregateRows = maxAggregateRows
        }
    }

    package var router: ReadRouter
    package var attributes: AttributeCatalog
    /// The Redis read cache, when one is configured.
    package var cache: ReadCache? { self.cached.cache }
    /// Opens `pii` values; nil: they are served as null.
    package var vault: DataKeyVault?
    /// Months archived to cold storage: a read that reaches one is answered 410 `archived`.
    package var archivedMonths: ArchivedMonths?
    /// Cache-aside and single-flight for lookups, filters and aggregates.
    let cached: CachedReads
    package var limits: Limits
    /// Entity lookups run as named prepared statements, parsed and planned once per
    /// connection, unless disabled: behind a transaction-pooling pgbouncer older than
    /// 1.21 or with `max_prepared_statements = 0` (or RDS Proxy), a connection's
    /// statements do not follow its client.
    package let preparedStatements: PreparedStatementPolicy
    package var logger: Logger

    package init(
        router: ReadRouter,
        attributes: AttributeCatalog,
        cache: ReadCache? = nil,
        vault: DataKeyVault? = nil,
        archivedMonths: ArchivedMonths? = nil,
        limits: Limits = .init(),
        preparedStatements: Bool = true,
        logger: Logger
    ) {
        self.archivedMonths = archivedMonths
        self.router = router
        self.preparedStatements = PreparedStatementPolicy(enabled: preparedStatements)
        self.attributes = attributes
        self.vault = vault
        self.cached = CachedReads(cache: cache)
        self.limits = limits
        self.logger = logger
    }

    /// Throws 410 `archived` when `[from, to)` reaches a month archived to cold storage.
    func refuseArchived(from: Int64?, to: Int64?) async throws(TesseraError) {
        guard let archivedMonths = self.archivedMonths else { return }
        let months = await archivedMonths.reached(from: from, to: to)
        if !months.isEmpty { throw ArchivedMonths.refusal(months) }
    }

    /// The data keys of these entities, to open their `pii` values with (`PIISealer`);
    /// none without a vault, or for erased entities (their values are served as null).
    func personalKeys(tenant: Int64, entities: [Int64]) async throws -> [Int64: DataKey] {
        guard let vault = self.vault, !entities.isEmpty else { return [:] }
        do {
            return try await vault.keys(tenant: tenant, entities: entities, creating: false)
        } catch {
            self.logger.error("The key vault did not answer", metadata: ["error": "\(String(reflecting: error))"])
            throw TesseraError(.piiUnavailable, "The key vault did not answer, so personal data cannot be read now; retry shortly.")
        }
    }

    /// Runs a routed read, turning database failures into client errors: a statement
    /// timeout is a 504; a read no node could serve is a 503.
    func read<Value: Sendable>(
        _ options: ReadOptions,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Value
    ) async throws -> ReadRouter.Served<Value> {
        do {
            return try await self.router.read(options.consistency, minimum: options.minimum, body)
        } catch let error as TesseraError {
            throw error
        } catch {
            let clientError = DatabaseErrors.clientError(for: error)
            if clientError.code == .invalidParameter {
                // The request's values (a data exception): another node or a retry fails the same way.
                throw clientError
            }
            if clientError.code == .timeout {
                throw TesseraError(
                    .timeout,
                    "The \(options.consistency.rawValue) read took longer than its \(self.router.configuration.statementTimeoutMilliseconds[options.consistency] ?? 0) ms limit and was cancelled; narrow it."
                )
            }
            self.logger.error("Read failed", metadata: ["error": "\(String(reflecting: error))"])
            throw TesseraError(.unavailable, "No database node could serve the read; retry shortly.")
        }
    }
}
