import Foundation
import PostgresNIO
import TesseraCore

extension Catalog {
    /// Creates an entity by its external key, or returns the existing one (updating its
    /// type when a new one is given, and reviving it if it was deleted).
    package func upsertEntity(key: String, type: String?, tenant: Tenant) async throws(TesseraError) -> (Entity, created: Bool) {
        try NameRules.validateEntityKey(key)
        if let type { try NameRules.validateEntityType(type) }
        let result = try await self.run {
            let rows = try await self.client.query(
                """
                INSERT INTO entities AS e (tenant_id, external_key, entity_type)
                VALUES (\(tenant.id), \(key), \(type))
                ON CONFLICT (tenant_id, external_key) DO UPDATE
                   SET entity_type = coalesce(EXCLUDED.entity_type, e.entity_type),
                       is_deleted = false, version = e.version + 1, updated_at = now()
                 WHERE e.is_deleted OR e.entity_type IS DISTINCT FROM coalesce(EXCLUDED.entity_type, e.entity_type)
                RETURNING \(unescaped: Self.entityColumns), (xmax = 0) AS inserted
                """,
                logger: self.logger
            )
            for try await (id, externalKey, entityType, version, createdAt, updatedAt, inserted) in rows.decode(
                (Int64, String, String?, Int64, Date, Date, Bool).self
            ) {
                let entity = Entity(
                    id: id, tenantID: tenant.id, key: externalKey, type: entityType, version: version,
                    createdAt: createdAt, updatedAt: updatedAt
                )
                return (entity, inserted) as (Entity, Bool)?
            }
            return nil
        }
        if let result { return (result.0, created: result.1) }
        // Nothing changed: the entity exists as asked.
        guard let entity = try await self.entity(key: key, tenant: tenant) else {
            throw TesseraError(.unavailable, "The entity could not be stored; retry.")
        }
        return (entity, created: false)
    }

    /// A live (not deleted) entity of the tenant by external key.
    package func entity(key: String, tenant: Tenant) async throws(TesseraError) -> Entity? {
        try await self.run {
            let rows = try await self.client.query(
                """
                SELECT \(unescaped: Self.entityColumns) FROM entities
                 WHERE tenant_id = \(tenant.id) AND external_key = \(key) AND NOT is_deleted
                """,
                logger: self.logger
            )
            for try await (id, externalKey, entityType, version, createdAt, updatedAt) in rows.decode(
                (Int64, String, String?, Int64, Date, Date).self
            ) {
                return Entity(
                    id: id, tenantID: tenant.id, key: externalKey, type: entityType, version: version,
                    createdAt: createdAt, updatedAt: updatedAt
                )
            }
            return nil
        }
    }

    static let entityColumns = "entity_id, external_key, entity_type, version, created_at, updated_at"
}
