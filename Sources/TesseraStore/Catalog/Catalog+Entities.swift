import Foundation
import PostgresNIO
import TesseraCore

extension Catalog {
    /// Creates an entity by its external key, or returns the existing one (updating its
    /// type when a new one is given, and reviving it if it was deleted).
    package func upsertEntity(key: String, type: String?, tenant: Tenant) async throws(TesseraError) -> (Entity, created: Bool) {
        try NameRules.validateEntityKey(key)
        if let type { try NameRules.validateEntityType(type) }
        // Made (or brought back) under the tenant's cap first (migration 0011).
        let admitted = try await self.run {
            let rows = try await self.client.query(
                "SELECT count(*), coalesce(bool_or(created), false) FROM create_entities(\(tenant.id), ARRAY[\(key)]::text[])",
                logger: self.logger
            )
            for try await (count, created) in rows.decode((Int64, Bool).self) { return count > 0 ? created : nil }
            return nil
        }
        guard let madeNow = admitted else {
            throw TesseraError(.quotaExceeded, "The tenant has \(tenant.settings.maxEntities) entities, its limit; no new entity can be created.")
        }
        let result = try await self.run {
            // The tenant's own rows only (row-level security, migration 0013).
            try await TenantScope.transaction(tenant: tenant.id, on: self.client, logger: self.logger) { connection -> (Entity, Bool)? in
                if madeNow, let type {
                    // Just made: its type is part of its creation, not a new version of it.
                    try await connection.query(
                        "UPDATE entities SET entity_type = \(type) WHERE tenant_id = \(tenant.id) AND external_key = \(key) AND entity_type IS NULL",
                        logger: self.logger
                    )
                }
                let rows = try await connection.query(
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
                        id: id,
                        tenantID: tenant.id,
                        key: externalKey,
                        type: entityType,
                        version: version,
                        createdAt: createdAt,
                        updatedAt: updatedAt
                    )
                    return (entity, inserted)
                }
                return nil
            }
        }
        if let result { return (result.0, created: result.1 || madeNow) }
        // Nothing changed: the entity exists as asked.
        guard let entity = try await self.entity(key: key, tenant: tenant) else {
            throw TesseraError(.unavailable, "The entity could not be stored; retry.")
        }
        return (entity, created: madeNow)
    }

    /// A live (not deleted) entity of the tenant by external key.
    package func entity(key: String, tenant: Tenant) async throws(TesseraError) -> Entity? {
        try await self.run {
            let query: PostgresQuery = """
                SELECT \(unescaped: Self.entityColumns) FROM entities
                 WHERE tenant_id = \(tenant.id) AND external_key = \(key) AND NOT is_deleted
                """
            let rows = try await self.client.query(TenantScope.read(query, tenant: tenant.id), logger: self.logger)
            for try await (id, externalKey, entityType, version, createdAt, updatedAt) in rows.decode(
                (Int64, String, String?, Int64, Date, Date).self
            ) {
                return Entity(
                    id: id,
                    tenantID: tenant.id,
                    key: externalKey,
                    type: entityType,
                    version: version,
                    createdAt: createdAt,
                    updatedAt: updatedAt
                )
            }
            return nil
        }
    }

    /// Deletes a live entity: marks it deleted and removes its projection row and
    /// every point of it, in one transaction, so no read serves its values again.
    /// Returns its id and the commit's time (µs), or nil when there was no such entity.
    package func deleteEntity(key: String, tenant: Tenant) async throws(TesseraError) -> (id: Int64, atMicros: Int64)? {
        try NameRules.validateEntityKey(key)
        return try await self.run {
            try await TenantScope.transaction(tenant: tenant.id, on: self.client, logger: self.logger) { connection -> (id: Int64, atMicros: Int64)? in
                // No flush or safe write runs meanwhile: one that began before the delete
                // and committed after it would store the entity's points again (migration 0006).
                try await connection.query("SELECT pg_advisory_xact_lock(\(AdvisoryLock.deletion))", logger: self.logger)
                let rows = try await connection.query(
                    """
                    UPDATE entities SET is_deleted = true, version = version + 1, updated_at = clock_timestamp(), deleted_at = clock_timestamp()
                     WHERE tenant_id = \(tenant.id) AND external_key = \(key) AND NOT is_deleted
                    RETURNING entity_id, (extract(epoch FROM updated_at) * 1000000)::bigint
                    """,
                    logger: self.logger
                )
                var deleted: (id: Int64, atMicros: Int64)?
                for try await (id, at) in rows.decode((Int64, Int64).self) { deleted = (id, at) }
                guard let deleted else { return nil }
                try await connection.query(
                    "DELETE FROM entity_jsonb WHERE tenant_id = \(tenant.id) AND entity_id = \(deleted.id)",
                    logger: self.logger
                )
                try await connection.query(
                    "DELETE FROM entity_hot_numbers WHERE tenant_id = \(tenant.id) AND entity_id = \(deleted.id)",
                    logger: self.logger
                )
                let gone = try await connection.query(
                    """
                    WITH gone AS (
                        DELETE FROM entity_values_ts WHERE tenant_id = \(tenant.id) AND entity_id = \(deleted.id)
                        RETURNING attribute_id, date_bin('1 hour', ts, timestamptz '1970-01-01 00:00:00+00') AS hour
                    )
                    SELECT coalesce(array_agg(attribute_id), '{}'), coalesce(array_agg(hour), '{}')
                      FROM (SELECT DISTINCT attribute_id, hour FROM gone) AS touched
                    """,
                    logger: self.logger
                )
                for try await (attributes, hours) in gone.decode(([Int32], [Date]).self) where !attributes.isEmpty {
                    // The hourly rollups those points were counted in.
                    try await connection.query(
                        "SELECT refresh_hourly(\(tenant.id), \(attributes)::integer[], \(hours)::timestamptz[])",
                        logger: self.logger
                    )
                }
                return deleted
            }
        }
    }

    static let entityColumns = "entity_id, external_key, entity_type, version, created_at, updated_at"
}
