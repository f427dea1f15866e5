import Logging
import PostgresNIO
import Synchronization
import TesseraCore

/// A tenant's attributes by name, as this process last loaded them: what ingest
/// resolves points against and what reads check names, flags and types against.
/// A list is trusted for `ttl` (another server may change flags or add attributes),
/// and reloaded at once when a name it lacks is needed; changes made through this
/// process `invalidate` it.
package final class AttributeCatalog: Sendable {
    private struct Loaded: Sendable {
        var byName: AttributesByName
        var loadedAt: ServiceClock.Instant
    }

    let client: PostgresClient
    let ttl: Duration
    let clock: ServiceClock
    let logger: Logger
    private let tenants = Mutex<[Int64: Loaded]>([:])

    package init(client: PostgresClient, ttl: Duration = .seconds(10), clock: ServiceClock = .continuous, logger: Logger) {
        self.client = client
        self.ttl = ttl
        self.clock = clock
        self.logger = logger
    }

    /// The tenant's attributes, from memory while fresh and holding every name in
    /// `needing`, else from the database.
    package func known(tenant: Int64, needing names: Set<String> = []) async throws(TesseraError) -> AttributesByName {
        if let cached = self.cached(tenant: tenant), cached.containsAll(names) { return cached }
        return try await self.load(tenant: tenant)
    }

    /// Creates the missing attributes under the tenant's cap, race-free (migration
    /// 0011; names past the cap stay missing), and returns the reloaded list.
    package func create(names: [String], types: [ValueType], tenant: Int64) async throws(TesseraError) -> AttributesByName {
        let typeNames = types.map(\.rawValue)
        try await self.run {
            try await self.client.liveQuery(
                "SELECT create_attributes(\(tenant), \(names)::text[], \(typeNames)::text[])",
                logger: self.logger
            )
        }
        return try await self.load(tenant: tenant)
    }

    /// Whether the tenant has an attribute marked `pii`, from the database (not the list in
    /// memory, which may not know one another server marked a moment ago).
    package func hasPersonalAttributes(tenant: Int64) async throws(TesseraError) -> Bool {
        try await self.run {
            let query: PostgresQuery = "SELECT EXISTS (SELECT 1 FROM attributes WHERE tenant_id = \(tenant) AND pii)"
            let rows = try await self.client.liveQuery(TenantScope.read(query, tenant: tenant), logger: self.logger)
            for try await exists in rows.decode(Bool.self) { return exists }
            return false
        }
    }

    /// Forgets a tenant's list (after one of its attributes was created or changed here).
    package func invalidate(tenant: Int64) {
        _ = self.tenants.withLock { $0.removeValue(forKey: tenant) }
    }

    func cached(tenant: Int64) -> AttributesByName? {
        let now = self.clock.now
        return self.tenants.withLock { tenants in
            guard let loaded = tenants[tenant], loaded.loadedAt.duration(to: now) < self.ttl else { return nil }
            return loaded.byName
        }
    }

    private func load(tenant: Int64) async throws(TesseraError) -> AttributesByName {
        let list = try await self.run {
            let query: PostgresQuery = "SELECT \(unescaped: Catalog.attributeColumns) FROM attributes WHERE tenant_id = \(tenant)"
            let rows = try await self.client.liveQuery(TenantScope.read(query, tenant: tenant), logger: self.logger)
            return try await Catalog.decodeAttributes(try await rows.collect(), tenantID: tenant)
        }
        let byName = AttributesByName(list)
        let now = self.clock.now
        self.tenants.withLock { $0[tenant] = Loaded(byName: byName, loadedAt: now) }
        return byName
    }

    private func run<Result: Sendable>(_ operation: () async throws -> Result) async throws(TesseraError) -> Result {
        do {
            return try await operation()
        } catch {
            self.logger.error("Attribute catalog query failed", metadata: ["error": "\(String(reflecting: error))"])
            throw DatabaseErrors.clientError(for: error)
        }
    }
}
