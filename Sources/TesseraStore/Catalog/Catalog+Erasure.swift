import Foundation
import Logging
import PostgresNIO
import TesseraCore

/// Erasure (README: Security, "Erasure"): a range of one series, and every entity of a
/// data subject. Each runs in one transaction under the deletion lock, so no flush or
/// safe write that began before it commits after it; the flush then drops any point of
/// the erased entities or range staged before the erasure (migrations 0006 and 0017).
extension Catalog {
    /// What erasing a range of a series did.
    package struct SeriesErasure: Sendable {
        package var entityID: Int64
        /// Points removed from the series.
        package var points: Int
        /// The projection's new version (µs), when its value of the attribute changed.
        package var projectionVersion: Int64?
        /// When the erasure committed (µs).
        package var atMicros: Int64
    }

    /// What erasing a data subject did.
    package struct SubjectErasure: Sendable {
        package var entities: [(id: Int64, key: String)]
        package var points: Int
        package var atMicros: Int64
    }

    /// Erases the points of one attribute of a live entity with `fromMicros <= ts < toMicros`
    /// (nil: unbounded), the hourly rollups they were counted in, and the projection's
    /// value when it came from the range. Nil when there is no such entity.
    package func eraseSeries(
        key: String,
        attributeID: Int32,
        fromMicros: Int64?,
        toMicros: Int64?,
        tenant: Tenant
    ) async throws(TesseraError) -> SeriesErasure? {
        try NameRules.validateEntityKey(key)
        // An open end is PostgreSQL's -infinity or infinity.
        let from = fromMicros.map { Timestamps.format(micros: $0) } ?? "-infinity"
        let to = toMicros.map { Timestamps.format(micros: $0) } ?? "infinity"
        return try await self.run {
            try await TenantScope.transaction(tenant: tenant.id, on: self.client, logger: self.logger) { connection -> SeriesErasure? in
                try await connection.query("SELECT pg_advisory_xact_lock(\(AdvisoryLock.deletion))", logger: self.logger)
                var entityID: Int64?
                let found = try await connection.query(
                    "SELECT entity_id FROM entities WHERE tenant_id = \(tenant.id) AND external_key = \(key) AND NOT is_deleted",
                    logger: self.logger
                )
                for try await id in found.decode(Int64.self) { entityID = id }
                guard let entityID else { return nil }
                try await connection.query(
                    """
                    INSERT INTO series_erasures (tenant_id, entity_id, attribute_id, from_ts, to_ts, erased_at)
                    VALUES (\(tenant.id), \(entityID), \(attributeID), \(from)::timestamptz, \(to)::timestamptz, clock_timestamp())
                    """,
                    logger: self.logger
                )
                // A new version of the entity: a lookup cached before the erasure is not served again.
                let changed = try await connection.query(
                    """
                    UPDATE entities SET version = version + 1, updated_at = clock_timestamp()
                     WHERE tenant_id = \(tenant.id) AND entity_id = \(entityID)
                    RETURNING (extract(epoch FROM updated_at) * 1000000)::bigint
                    """,
                    logger: self.logger
                )
                var atMicros: Int64 = 0
                for try await at in changed.decode(Int64.self) { atMicros = at }
                // Packed points of the range become rows first (migration 0027), deleted below.
                try await connection.query(
                    "SELECT unpack_values(\(tenant.id), \([entityID])::bigint[], \(attributeID), \(from)::timestamptz, \(to)::timestamptz)",
                    logger: self.logger
                )
                let gone = try await connection.query(
                    """
                    WITH gone AS (
                        DELETE FROM entity_values_ts
                         WHERE tenant_id = \(tenant.id) AND entity_id = \(entityID) AND attribute_id = \(attributeID)
                           AND ts >= \(from)::timestamptz AND ts < \(to)::timestamptz
                        RETURNING date_bin('1 hour', ts, timestamptz '1970-01-01 00:00:00+00') AS hour
                    )
                    SELECT count(*), coalesce(array_agg(DISTINCT hour), '{}') FROM gone
                    """,
                    logger: self.logger
                )
                var points = 0
                for try await (count, hours) in gone.decode((Int64, [Date]).self) {
                    points = Int(count)
                    if !hours.isEmpty {
                        let attributes = [Int32](repeating: attributeID, count: hours.count)
                        try await connection.query(
                            "SELECT refresh_hourly(\(tenant.id), \(attributes)::integer[], \(hours)::timestamptz[])",
                            logger: self.logger
                        )
                    }
                }
                // The range's points PostgreSQL refused and the quarantine holds.
                try await connection.query(
                    "SELECT erase_quarantined(\(tenant.id), \([entityID])::bigint[], \(attributeID), \(from)::timestamptz, \(to)::timestamptz)",
                    logger: self.logger
                )
                var version: Int64?
                if points > 0 {
                    let reprojected = try await connection.query(
                        "SELECT reproject_attribute(\(tenant.id), \(entityID), \(attributeID))",
                        logger: self.logger
                    )
                    for try await changed in reprojected.decode(Int64?.self) { version = changed }
                }
                return SeriesErasure(entityID: entityID, points: points, projectionVersion: version, atMicros: atMicros)
            }
        }
    }

    /// The live entities tagged with a data subject, by key.
    package func subjectEntities(_ subject: String, tenant: Tenant) async throws(TesseraError) -> [Entity] {
        try NameRules.validateSubject(subject)
        return try await self.run {
            let query: PostgresQuery = """
                SELECT \(unescaped: Self.entityColumns) FROM entities
                 WHERE tenant_id = \(tenant.id) AND subject = \(subject) AND NOT is_deleted
                 ORDER BY external_key
                """
            let rows = try await self.client.liveQuery(TenantScope.read(query, tenant: tenant.id), logger: self.logger)
            return try await Self.decodeEntities(try await rows.collect(), tenantID: tenant.id)
        }
    }

    /// Deletes every live entity tagged with `subject`, as `deleteEntity` deletes one, in
    /// one transaction, and clears the tag.
    package func eraseSubject(_ subject: String, tenant: Tenant) async throws(TesseraError) -> SubjectErasure {
        try NameRules.validateSubject(subject)
        return try await self.run {
            try await TenantScope.transaction(tenant: tenant.id, on: self.client, logger: self.logger) { connection -> SubjectErasure in
                try await connection.query("SELECT pg_advisory_xact_lock(\(AdvisoryLock.deletion))", logger: self.logger)
                let rows = try await connection.query(
                    """
                    UPDATE entities
                       SET is_deleted = true, subject = NULL, version = version + 1,
                           updated_at = clock_timestamp(), deleted_at = clock_timestamp()
                     WHERE tenant_id = \(tenant.id) AND subject = \(subject)
                    RETURNING entity_id, external_key, (extract(epoch FROM updated_at) * 1000000)::bigint
                    """,
                    logger: self.logger
                )
                var entities = [(id: Int64, key: String)]()
                var atMicros: Int64 = 0
                for try await (id, key, at) in rows.decode((Int64, String, Int64).self) {
                    entities.append((id, key))
                    atMicros = max(atMicros, at)
                }
                let points = try await Self.erasePoints(of: entities.map(\.id), tenant: tenant.id, on: connection, logger: self.logger)
                return SubjectErasure(entities: entities.sorted { $0.key < $1.key }, points: points, atMicros: atMicros)
            }
        }
    }

    /// Removes the projection rows, number rows, points and quarantined points of entities,
    /// and recomputes the hourly rollups the points were counted in; returns how many points
    /// were stored. Inside the caller's transaction, under the deletion lock.
    @discardableResult
    static func erasePoints(of entityIDs: [Int64], tenant: Int64, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        guard !entityIDs.isEmpty else { return 0 }
        try await connection.query("DELETE FROM entity_jsonb WHERE tenant_id = \(tenant) AND entity_id = ANY(\(entityIDs))", logger: logger)
        try await connection.query("DELETE FROM entity_hot_numbers WHERE tenant_id = \(tenant) AND entity_id = ANY(\(entityIDs))", logger: logger)
        try await connection.query("SELECT erase_quarantined(\(tenant), \(entityIDs)::bigint[], NULL, NULL, NULL)", logger: logger)
        // Their packed points become rows first (migration 0027), deleted below.
        try await connection.query("SELECT unpack_values(\(tenant), \(entityIDs)::bigint[], NULL, '-infinity', 'infinity')", logger: logger)
        let gone = try await connection.query(
            """
            WITH gone AS (
                DELETE FROM entity_values_ts WHERE tenant_id = \(tenant) AND entity_id = ANY(\(entityIDs))
                RETURNING attribute_id, date_bin('1 hour', ts, timestamptz '1970-01-01 00:00:00+00') AS hour
            )
            SELECT (SELECT count(*) FROM gone), coalesce(array_agg(attribute_id), '{}'), coalesce(array_agg(hour), '{}')
              FROM (SELECT DISTINCT attribute_id, hour FROM gone) AS touched
            """,
            logger: logger
        )
        var points = 0
        for try await (count, attributes, hours) in gone.decode((Int64, [Int32], [Date]).self) {
            points = Int(count)
            if !attributes.isEmpty {
                // The hourly rollups those points were counted in.
                try await connection.query(
                    "SELECT refresh_hourly(\(tenant), \(attributes)::integer[], \(hours)::timestamptz[])",
                    logger: logger
                )
            }
        }
        return points
    }
}
