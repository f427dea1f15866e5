import Foundation
import PostgresNIO
import TesseraCore

extension Catalog {
    /// Creates a tenant and its first API key; the key is returned once and stored hashed.
    package func createTenant(name: String, settings: Tenant.Settings = .init()) async throws(TesseraError) -> (Tenant, APIKey) {
        try NameRules.validateTenantName(name)
        let key = APIKey.generate()
        do throws(TesseraError) {
            let tenant = try await self.run {
                let rows = try await self.client.query(
                    """
                    INSERT INTO tenants (name, api_key_hash, api_key_prefix, auto_create_attributes, retention_months,
                                         max_entities, max_attributes, max_points_per_second)
                    VALUES (\(name), \(key.storedHash), \(key.displayPrefix), \(settings.autoCreateAttributes),
                            \(settings.retentionMonths), \(settings.maxEntities), \(settings.maxAttributes),
                            \(settings.maxPointsPerSecond))
                    RETURNING \(unescaped: Self.tenantColumns)
                    """,
                    logger: self.logger
                )
                return try await Self.firstTenant(rows)
            }
            guard let tenant else { throw TesseraError(.internalError, "The tenant was not created.") }
            return (tenant, key)
        } catch where error.code == .duplicate {
            throw TesseraError(.duplicate, "A tenant named '\(NameRules.printable(name))' already exists.")
        }
    }

    /// The tenant a key belongs to, or nil for an unknown key. Known keys are answered
    /// from memory for a few seconds (see `TenantKeyCache`).
    package func tenant(forKey key: APIKey) async throws(TesseraError) -> Tenant? {
        guard APIKey.looksValid(key.value) else { return nil }
        let hash = key.storedHash
        let cached = self.keys.tenant(hash: hash)
        if let tenant = cached.tenant { return tenant }
        let tenant = try await self.run {
            let rows = try await self.client.query(
                "SELECT \(unescaped: Self.tenantColumns) FROM tenants WHERE api_key_hash = \(hash)",
                logger: self.logger
            )
            return try await Self.firstTenant(rows)
        }
        if let tenant { self.keys.remember(tenant, hash: hash, generation: cached.generation) }
        return tenant
    }

    package func tenant(named name: String) async throws(TesseraError) -> Tenant? {
        try await self.run {
            let rows = try await self.client.query(
                "SELECT \(unescaped: Self.tenantColumns) FROM tenants WHERE name = \(name)",
                logger: self.logger
            )
            return try await Self.firstTenant(rows)
        }
    }

    /// Replaces a tenant's API key: the old key stops working at once.
    package func rotateKey(tenantName name: String) async throws(TesseraError) -> (Tenant, APIKey)? {
        let key = APIKey.generate()
        self.keys.removeAll()
        defer { self.keys.removeAll() }
        let tenant = try await self.run {
            let rows = try await self.client.query(
                """
                UPDATE tenants SET api_key_hash = \(key.storedHash), api_key_prefix = \(key.displayPrefix)
                WHERE name = \(name) RETURNING \(unescaped: Self.tenantColumns)
                """,
                logger: self.logger
            )
            return try await Self.firstTenant(rows)
        }
        return tenant.map { ($0, key) }
    }

    static let tenantColumns = """
        tenant_id, name, auto_create_attributes, retention_months, max_entities, max_attributes, \
        max_points_per_second, created_at
        """

    static func firstTenant(_ rows: PostgresRowSequence) async throws -> Tenant? {
        for try await (id, name, autoCreate, retention, maxEntities, maxAttributes, maxRate, createdAt) in rows.decode(
            (Int64, String, Bool, Int, Int64, Int, Int, Date).self
        ) {
            return Tenant(
                id: id,
                name: name,
                settings: .init(
                    autoCreateAttributes: autoCreate,
                    retentionMonths: retention,
                    maxEntities: maxEntities,
                    maxAttributes: maxAttributes,
                    maxPointsPerSecond: maxRate
                ),
                createdAt: createdAt
            )
        }
        return nil
    }
}
