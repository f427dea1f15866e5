import Foundation
import PostgresNIO
import TesseraCore

/// A tenant's API keys (migration 0014), behind the tenant wall: what a key of scope
/// `admin` lists, creates, revokes and rotates. The key itself is shown once, when it is
/// made; only its hash and first characters are kept.
extension Catalog {
    /// A key as listed: never the key, only its first characters.
    package struct StoredKey: Sendable, Equatable {
        package var id: Int64
        package var name: String
        package var scope: KeyScope
        package var prefix: String
        package var createdAt: Date
        package var expiresAt: Date?
        package var revokedAt: Date?
        /// The key that replaced this one by a rotation.
        package var replacedBy: Int64?
    }

    static let keyColumns = "key_id, name, scope, key_prefix, created_at, expires_at, revoked_at, replaced_by"

    /// Makes a key of `scope` named `name` for the tenant, live until `expiresAt` (if any).
    package func createKey(name: String, scope: KeyScope, expiresAt: Date?, tenant: Tenant) async throws(TesseraError) -> (StoredKey, APIKey) {
        try Self.validateKeyName(name)
        if let expiresAt, expiresAt <= Date() {
            throw TesseraError(.invalidBody, "'expires_at' must be in the future.")
        }
        let key = APIKey.generate()
        do throws(TesseraError) {
            let stored = try await self.run {
                try await TenantScope.transaction(tenant: tenant.id, on: self.client, logger: self.logger) { connection -> StoredKey? in
                    let rows = try await connection.query(
                        """
                        INSERT INTO api_keys (tenant_id, name, scope, key_hash, key_prefix, expires_at)
                        VALUES (\(tenant.id), \(name), \(scope.rawValue), \(key.storedHash), \(key.displayPrefix), \(expiresAt))
                        RETURNING \(unescaped: Self.keyColumns)
                        """,
                        logger: self.logger
                    )
                    return try await Self.decodeKeys(try await rows.collect()).first
                }
            }
            guard let stored else { throw TesseraError(.unavailable, "The key could not be stored; retry.") }
            return (stored, key)
        } catch  where error.code == .duplicate {
            throw TesseraError(.duplicate, "The tenant has a live key named '\(NameRules.printable(name))'; revoke it or choose another name.")
        }
    }

    /// The tenant's keys, live and revoked, oldest first.
    package func keys(tenant: Tenant) async throws(TesseraError) -> [StoredKey] {
        try await self.run {
            let query: PostgresQuery = "SELECT \(unescaped: Self.keyColumns) FROM api_keys WHERE tenant_id = \(tenant.id) ORDER BY key_id"
            return try await Self.decodeKeys(try await self.client.liveQuery(TenantScope.read(query, tenant: tenant.id), logger: self.logger).collect())
        }
    }

    /// Revokes a live key of the tenant: it stops working at once on this server, and on
    /// the others within their key cache's lifetime. Nil when the tenant has no such live key.
    package func revokeKey(id: Int64, tenant: Tenant) async throws(TesseraError) -> StoredKey? {
        defer { self.keys.removeAll() }
        return try await self.run {
            try await TenantScope.transaction(tenant: tenant.id, on: self.client, logger: self.logger) { connection -> StoredKey? in
                let rows = try await connection.query(
                    """
                    UPDATE api_keys SET revoked_at = now()
                     WHERE tenant_id = \(tenant.id) AND key_id = \(id) AND revoked_at IS NULL
                    RETURNING \(unescaped: Self.keyColumns)
                    """,
                    logger: self.logger
                )
                return try await Self.decodeKeys(try await rows.collect()).first
            }
        }
    }

    /// Replaces a live key by a new one with the same name, scope and expiry: the old
    /// one is revoked (its `replaced_by` names the new one). Nil when there is no such live key.
    package func rotateKey(id: Int64, tenant: Tenant) async throws(TesseraError) -> (StoredKey, APIKey)? {
        let key = APIKey.generate()
        defer { self.keys.removeAll() }
        let successor = try await self.run {
            try await TenantScope.transaction(tenant: tenant.id, on: self.client, logger: self.logger) { connection -> StoredKey? in
                let revoked = try await connection.query(
                    """
                    UPDATE api_keys SET revoked_at = now()
                     WHERE tenant_id = \(tenant.id) AND key_id = \(id) AND revoked_at IS NULL
                    RETURNING \(unescaped: Self.keyColumns)
                    """,
                    logger: self.logger
                )
                guard let old = try await Self.decodeKeys(try await revoked.collect()).first else { return nil }
                let made = try await connection.query(
                    """
                    INSERT INTO api_keys (tenant_id, name, scope, key_hash, key_prefix, expires_at)
                    VALUES (\(tenant.id), \(old.name), \(old.scope.rawValue), \(key.storedHash), \(key.displayPrefix), \(old.expiresAt))
                    RETURNING \(unescaped: Self.keyColumns)
                    """,
                    logger: self.logger
                )
                guard let new = try await Self.decodeKeys(try await made.collect()).first else { return nil }
                try await connection.query("UPDATE api_keys SET replaced_by = \(new.id) WHERE tenant_id = \(tenant.id) AND key_id = \(id)", logger: self.logger)
                return new
            }
        }
        return successor.map { ($0, key) }
    }

    static func decodeKeys(_ rows: [PostgresRow]) async throws -> [StoredKey] {
        var keys = [StoredKey]()
        for (id, name, scope, prefix, createdAt, expiresAt, revokedAt, replacedBy) in try rows.decode(
            (Int64, String, String, String, Date, Date?, Date?, Int64?).self
        ) {
            keys.append(
                StoredKey(
                    id: id,
                    name: name,
                    scope: KeyScope(rawValue: scope) ?? .read,
                    prefix: prefix,
                    createdAt: createdAt,
                    expiresAt: expiresAt,
                    revokedAt: revokedAt,
                    replacedBy: replacedBy
                )
            )
        }
        return keys
    }

    /// 1 to 100 printable characters.
    static func validateKeyName(_ name: String) throws(TesseraError) {
        guard (1...100).contains(name.count), name.unicodeScalars.allSatisfy({ !$0.properties.generalCategory.isControl }) else {
            throw TesseraError(.invalidName, "A key's name is 1 to 100 printable characters.")
        }
    }
}

extension Unicode.GeneralCategory {
    fileprivate var isControl: Bool {
        switch self {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator: true
        default: false
        }
    }
}
