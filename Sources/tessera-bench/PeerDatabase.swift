import Logging
import PostgresNIO
import TesseraCore
import TesseraStore

/// A connection pool for the PostgreSQL peers of `bench all`, with a statement
/// timeout on every connection so a query a peer cannot answer in time ends as
/// "did not finish" instead of holding the run.
enum PeerDatabase {
    static func withClient<T: Sendable>(
        url: DatabaseURL,
        connections: Int,
        statementTimeout: Duration,
        logger: Logger,
        _ body: @escaping @Sendable (PostgresClient) async throws -> T
    ) async throws -> T {
        try await PostgresClient.withRunning(
            url: url,
            maximumConnections: connections,
            startupParameters: [("statement_timeout", "\(statementTimeout.components.seconds * 1_000)")],
            logger: logger,
            body
        )
    }

    /// The count a peer recorded in `table` (one row, one column) once its load finished; nil before.
    static func loadedCount(_ client: PostgresClient, table: String, logger: Logger) async throws -> Int? {
        let exists = try await client.query("SELECT to_regclass(\(table)) IS NOT NULL", logger: logger)
        for try await present in exists.decode(Bool.self) where !present { return nil }
        for try await count in try await client.query(PostgresQuery(unsafeSQL: "SELECT * FROM \(table)"), logger: logger).decode(Int.self) {
            return count
        }
        return nil
    }

    /// The dataset's tenants in order, each with its attribute ids by name.
    struct Tenant: Sendable {
        var id: Int64
        var attributes: [String: Int32]
        /// The id of `dev-0`; the dataset made `dev-N` this plus N.
        var firstEntityID: Int64
    }

    static func tenants(keys: [String], catalog: Catalog, client: PostgresClient) async throws -> [Tenant] {
        var tenants = [Tenant]()
        for key in keys {
            guard let tenant = try await catalog.tenant(forKey: APIKey(value: key)) else { throw ValidationErrorText("a dataset tenant is gone") }
            var attributes = [String: Int32]()
            for try await (name, id) in try await client.query("SELECT name, attribute_id FROM attributes WHERE tenant_id = \(tenant.id)").decode(
                (String, Int32).self
            ) {
                attributes[name] = id
            }
            var first: Int64 = 0
            for try await id in try await client.query("SELECT entity_id FROM entities WHERE tenant_id = \(tenant.id) AND external_key = 'dev-0'").decode(
                Int64.self
            ) {
                first = id
            }
            tenants.append(Tenant(id: tenant.id, attributes: attributes, firstEntityID: first))
        }
        return tenants
    }

    /// A value for a random entity and attribute of a tenant drawn by traffic share, as the ingest load writes them.
    static func point(_ layout: BenchDataset, _ tenants: [Tenant], _ random: inout SplitMix64) -> PeerPoint {
        let index = layout.pickTenant(&random)
        let tenant = tenants[index]
        let entity = Int64(random.next() % UInt64(layout.entityCounts[index]))
        let attribute = Int(random.next() % UInt64(layout.shape.attributes))
        let name = layout.attributeName(attribute)
        let isText = layout.isText(attribute)
        return PeerPoint(
            tenantID: tenant.id,
            entityID: tenant.firstEntityID + entity,
            attributeID: tenant.attributes[name] ?? 0,
            attributeName: name,
            entityKey: "dev-\(entity)",
            decimal: isText ? nil : Double(random.next() % 100_000) / 100,
            text: isText ? "state-\(random.next() % 16)" : nil
        )
    }
}
