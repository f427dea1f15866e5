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
                let rows = try await self.client.liveQuery(
                    """
                    SELECT \(unescaped: Self.tenantColumns) FROM create_tenant(
                        \(name), \(key.storedHash), \(key.displayPrefix), \(settings.autoCreateAttributes),
                        \(settings.retentionMonths)::integer, \(settings.maxEntities), \(settings.maxAttributes)::integer,
                        \(settings.maxPointsPerSecond)::integer)
                    """,
                    logger: self.logger
                )
                return try await Self.firstTenant(try await rows.collect())
            }
            guard let tenant else { throw TesseraError(.internalError, "The tenant was not created.") }
            return (tenant, key)
        } catch  where error.code == .duplicate {
            throw TesseraError(.duplicate, "A tenant named '\(NameRules.printable(name))' already exists.")
        }
    }

    /// What a key is: a live key of a tenant (with its grant), or why not.
    package enum Authentication: Sendable, Equatable {
        case granted(Tenant, KeyGrant)
        case unknown
        /// A key of this tenant, revoked (or replaced by a rotation).
        case revoked(Tenant, keyID: Int64)
        /// A key of this tenant, past its expiry.
        case expired(Tenant, keyID: Int64)

        /// The tenant, when the key is live.
        package var tenant: Tenant? {
            if case .granted(let tenant, _) = self { return tenant }
            return nil
        }
    }

    /// Authenticates a key. Live keys are answered from memory for a few seconds (see
    /// `TenantKeyCache`), never past their expiry.
    package func authenticate(_ key: APIKey) async throws(TesseraError) -> Authentication {
        guard APIKey.looksValid(key.value) else { return .unknown }
        let hash = key.storedHash
        let now = Date()
        let cached = self.keys.grant(hash: hash, now: now)
        if let (tenant, grant) = cached.granted { return .granted(tenant, grant) }
        let found = try await self.run { () -> (Tenant, KeyGrant, Date?, Date?)? in
            let rows = try await self.client.liveQuery(
                "SELECT \(unescaped: Self.tenantColumns), key_id, key_scope, key_expires_at, key_revoked_at FROM tenant_by_key_hash(\(hash))",
                logger: self.logger
            )
            for try await (id, name, autoCreate, retention, maxEntities, maxAttributes, maxRate, createdAt, keyID, scope, expiresAt, revokedAt) in rows.decode(
                (Int64, String, Bool, Int, Int64, Int, Int, Date, Int64, String, Date?, Date?).self
            ) {
                let tenant = Tenant(
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
                return (tenant, KeyGrant(keyID: keyID, scope: KeyScope(rawValue: scope) ?? .read), expiresAt, revokedAt)
            }
            return nil
        }
        guard let (tenant, grant, expiresAt, revokedAt) = found else { return .unknown }
        if revokedAt != nil { return .revoked(tenant, keyID: grant.keyID) }
        if let expiresAt, expiresAt <= now { return .expired(tenant, keyID: grant.keyID) }
        self.keys.remember(tenant, grant: grant, keyExpiresAt: expiresAt, hash: hash, generation: cached.generation)
        return .granted(tenant, grant)
    }

    /// The tenant a live key belongs to; nil for an unknown, revoked or expired key.
    package func tenant(forKey key: APIKey) async throws(TesseraError) -> Tenant? {
        try await self.authenticate(key).tenant
    }

    package func tenant(named name: String) async throws(TesseraError) -> Tenant? {
        try await self.run {
            let rows = try await self.client.liveQuery(
                "SELECT \(unescaped: Self.tenantColumns) FROM tenant_by_name(\(name))",
                logger: self.logger
            )
            return try await Self.firstTenant(try await rows.collect())
        }
    }

    /// Re-issues a tenant's key `default` (scope admin): the old one is revoked at once.
    package func rotateKey(tenantName name: String) async throws(TesseraError) -> (Tenant, APIKey)? {
        let key = APIKey.generate()
        self.keys.removeAll()
        defer { self.keys.removeAll() }
        let tenant = try await self.run {
            let rows = try await self.client.liveQuery(
                "SELECT \(unescaped: Self.tenantColumns) FROM rotate_tenant_key(\(name), \(key.storedHash), \(key.displayPrefix))",
                logger: self.logger
            )
            return try await Self.firstTenant(try await rows.collect())
        }
        return tenant.map { ($0, key) }
    }

    static let tenantColumns = """
        tenant_id, name, auto_create_attributes, retention_months, max_entities, max_attributes, \
        max_points_per_second, created_at
        """

    static func firstTenant(_ rows: [PostgresRow]) async throws -> Tenant? {
        for (id, name, autoCreate, retention, maxEntities, maxAttributes, maxRate, createdAt) in try rows.decode(
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

extension Catalog {
    /// A change of a tenant's settings; nil fields stay as they are.
    package struct TenantPatch: Sendable {
        package var autoCreateAttributes: Bool?
        package var retentionMonths: Int?
        package var maxEntities: Int64?
        package var maxAttributes: Int?
        package var maxPointsPerSecond: Int?

        package init(
            autoCreateAttributes: Bool? = nil,
            retentionMonths: Int? = nil,
            maxEntities: Int64? = nil,
            maxAttributes: Int? = nil,
            maxPointsPerSecond: Int? = nil
        ) {
            self.autoCreateAttributes = autoCreateAttributes
            self.retentionMonths = retentionMonths
            self.maxEntities = maxEntities
            self.maxAttributes = maxAttributes
            self.maxPointsPerSecond = maxPointsPerSecond
        }

        /// Refuses values out of their ranges (a 400 that says which).
        package func validated() throws(TesseraError) -> TenantPatch {
            if let months = self.retentionMonths, !(0...1200).contains(months) {
                throw TesseraError(.invalidBody, "'retention_months' must be from 0 (keep forever) to 1200.")
            }
            if let value = self.maxEntities, !(1...1_000_000_000_000).contains(value) {
                throw TesseraError(.invalidBody, "'max_entities' must be from 1 to 10^12.")
            }
            if let value = self.maxAttributes, !(1...1_000_000).contains(value) {
                throw TesseraError(.invalidBody, "'max_attributes' must be from 1 to 1000000.")
            }
            if let value = self.maxPointsPerSecond, !(1...100_000_000).contains(value) {
                throw TesseraError(.invalidBody, "'max_points_per_second' must be from 1 to 100000000.")
            }
            return self
        }
    }

    /// The tenant by id, with its usage (entities and attributes, as the caps count them).
    package func tenant(id: Int64) async throws(TesseraError) -> (Tenant, usage: Usage)? {
        try await self.run {
            let rows = try await self.client.liveQuery(
                "SELECT \(unescaped: Self.tenantColumns), entity_count, attribute_count FROM tenant_with_usage(\(id))",
                logger: self.logger
            )
            return try await Self.tenantWithUsage(try await rows.collect())
        }
    }

    /// Changes the tenant's settings; every server sees them within its key cache's
    /// few seconds (this one at once).
    package func updateTenant(id: Int64, _ patch: TenantPatch) async throws(TesseraError) -> (Tenant, usage: Usage)? {
        let patch = try patch.validated()
        defer { self.keys.removeAll() }
        return try await self.run {
            let rows = try await self.client.liveQuery(
                """
                SELECT \(unescaped: Self.tenantColumns), entity_count, attribute_count
                  FROM update_tenant(\(id), \(patch.autoCreateAttributes), \(patch.retentionMonths)::integer,
                                     \(patch.maxEntities)::bigint, \(patch.maxAttributes)::integer, \(patch.maxPointsPerSecond)::integer)
                """,
                logger: self.logger
            )
            return try await Self.tenantWithUsage(try await rows.collect())
        }
    }

    /// What a tenant holds of what its caps count.
    package struct Usage: Sendable, Equatable {
        package var entities: Int64
        package var attributes: Int
    }

    static func tenantWithUsage(_ rows: [PostgresRow]) async throws -> (Tenant, usage: Usage)? {
        for (id, name, autoCreate, retention, maxEntities, maxAttributes, maxRate, createdAt, entities, attributes) in try rows.decode(
            (Int64, String, Bool, Int, Int64, Int, Int, Date, Int64, Int).self
        ) {
            let tenant = Tenant(
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
            return (tenant, Usage(entities: entities, attributes: attributes))
        }
        return nil
    }
}
