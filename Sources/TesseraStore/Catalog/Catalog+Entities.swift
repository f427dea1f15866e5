import Foundation
import PostgresNIO
import TesseraCore

extension Catalog {
    /// Creates an entity by its external key, or returns the existing one (updating its
    /// type and subject when new ones are given, and reviving it if it was deleted).
    /// `subject`: nil leaves it as it is, "" clears it.
    package func upsertEntity(
        key: String,
        type: String?,
        subject: String? = nil,
        tenant: Tenant
    ) async throws(TesseraError) -> (
        Entity, created: Bool
    ) {
        try NameRules.validateEntityKey(key)
        if let type { try NameRules.validateEntityType(type) }
        if let subject, !subject.isEmpty { try NameRules.validateSubject(subject) }
        // Made (or brought back) under the tenant's cap first (migration 0011).
        let admitted = try await self.run {
            let rows = try await self.client.liveQuery(
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
                let setsSubject = subject != nil
                if madeNow, type != nil || setsSubject {
                    // Just made: its type and subject are part of its creation, not a new version of it.
                    try await connection.query(
                        """
                        UPDATE entities SET entity_type = coalesce(\(type), entity_type), subject = nullif(\(subject), '')
                         WHERE tenant_id = \(tenant.id) AND external_key = \(key) AND version = 1
                           AND entity_type IS NULL AND subject IS NULL
                        """,
                        logger: self.logger
                    )
                }
                let rows = try await connection.query(
                    """
                    INSERT INTO entities AS e (tenant_id, external_key, entity_type, subject)
                    VALUES (\(tenant.id), \(key), \(type), nullif(\(subject), ''))
                    ON CONFLICT (tenant_id, external_key) DO UPDATE
                       SET entity_type = coalesce(EXCLUDED.entity_type, e.entity_type),
                           subject = CASE WHEN \(setsSubject) THEN EXCLUDED.subject ELSE e.subject END,
                           is_deleted = false, version = e.version + 1, updated_at = now()
                     WHERE e.is_deleted OR e.entity_type IS DISTINCT FROM coalesce(EXCLUDED.entity_type, e.entity_type)
                        OR (\(setsSubject) AND e.subject IS DISTINCT FROM EXCLUDED.subject)
                    RETURNING \(unescaped: Self.entityColumns), (xmax = 0) AS inserted
                    """,
                    logger: self.logger
                )
                for try await (id, externalKey, entityType, version, createdAt, updatedAt, subject, inserted) in rows.decode(
                    (Int64, String, String?, Int64, Date, Date, String?, Bool).self
                ) {
                    let entity = Entity(
                        id: id,
                        tenantID: tenant.id,
                        key: externalKey,
                        type: entityType,
                        version: version,
                        createdAt: createdAt,
                        updatedAt: updatedAt,
                        subject: subject
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
            let rows = try await self.client.liveQuery(TenantScope.read(query, tenant: tenant.id), logger: self.logger)
            return try await Self.decodeEntities(try await rows.collect(), tenantID: tenant.id).first
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
                try await Self.erasePoints(of: [deleted.id], tenant: tenant.id, on: connection, logger: self.logger)
                return deleted
            }
        }
    }

    /// Rows of `entityColumns`, as entities of the tenant.
    static func decodeEntities(_ rows: [PostgresRow], tenantID: Int64) async throws -> [Entity] {
        var entities = [Entity]()
        for (id, key, type, version, createdAt, updatedAt, subject) in try rows.decode(
            (Int64, String, String?, Int64, Date, Date, String?).self
        ) {
            entities.append(
                Entity(
                    id: id,
                    tenantID: tenantID,
                    key: key,
                    type: type,
                    version: version,
                    createdAt: createdAt,
                    updatedAt: updatedAt,
                    subject: subject
                )
            )
        }
        return entities
    }

    static let entityColumns = "entity_id, external_key, entity_type, version, created_at, updated_at, subject"
}
