import Foundation
import Logging
import PostgresNIO
import TesseraCore

/// Per-tenant retention (migration 0021, README: Data lifecycle): drops the partitions no
/// tenant holds any more, deletes each tenant's expired points in bounded batches inside the
/// partitions others still need, and takes expired values out of the projection. The server
/// runs it on a schedule (`RetentionService`); `tessera retention run [--dry-run]` on demand.
///
/// Every step is one short transaction and safe to repeat, so a run cut short (or two
/// servers running at once) leaves nothing half done that the next run does not finish.
package struct RetentionRunner: Sendable {
    package struct Options: Sendable {
        /// Points (and rollups) deleted a transaction.
        package var batchSize: Int
        /// How long dropping a partition may wait for its locks before it is left for the next run.
        package var lockTimeout: Duration

        package init(batchSize: Int = 5_000, lockTimeout: Duration = .milliseconds(200)) {
            self.batchSize = batchSize
            self.lockTimeout = lockTimeout
        }
    }

    /// What a run did (or, dry, would do).
    package struct Report: Sendable {
        package struct TenantReport: Sendable {
            package var tenantID: Int64
            package var name: String
            package var retentionMonths: Int
            /// The first instant kept (µs).
            package var floorMicros: Int64
            /// Expired points deleted from partitions that stay (dry: that would be).
            package var points: Int
            package var rollups: Int
            /// Entities whose projected state changed.
            package var entities: Int
        }

        package struct PartitionReport: Sendable {
            package var name: String
            package var startMicros: Int64
            package var endMicros: Int64
            /// Tenants that keep its months and have rows in it.
            package var heldBy: [Int64]
            package var dropped: Bool
        }

        package var atMicros: Int64
        package var dryRun: Bool
        package var tenants: [TenantReport] = []
        package var partitions: [PartitionReport] = []
    }

    let client: PostgresClient
    let options: Options
    let logger: Logger

    package init(client: PostgresClient, options: Options = .init(), logger: Logger) {
        self.client = client
        self.options = options
        self.logger = logger
    }

    /// Applies retention as of `at`. Each entity whose state changed is announced through
    /// `changed` (for the read cache) once its tenant is done.
    package func run(
        at: Date,
        dryRun: Bool = false,
        changed: @Sendable (ProjectionChange) async -> Void = { _ in }
    ) async throws -> Report {
        var report = Report(atMicros: Self.micros(at), dryRun: dryRun)
        report.partitions = try await self.partitions(at: at)
        if !dryRun {
            let lockMilliseconds = Int(
                self.options.lockTimeout.components.seconds * 1_000 + self.options.lockTimeout.components.attoseconds / 1_000_000_000_000_000
            )
            for index in report.partitions.indices where report.partitions[index].heldBy.isEmpty {
                let name = report.partitions[index].name
                let rows = try await self.client.liveQuery("SELECT retention_drop_partition(\(name), \(at), \(lockMilliseconds)::integer)", logger: self.logger)
                for try await dropped in rows.decode(Bool.self) { report.partitions[index].dropped = dropped }
                self.logger.notice(
                    report.partitions[index].dropped ? "Retention dropped a partition" : "Retention left a partition for the next run (locked or held)",
                    metadata: ["partition": "\(name)"]
                )
            }
        }
        for var tenant in try await self.tenants(at: at) {
            let floor = Date(timeIntervalSince1970: Double(tenant.floorMicros) / 1_000_000)
            if dryRun {
                let rows = try await self.client.liveQuery(
                    "SELECT points, rollups, entities FROM retention_preview(\(tenant.tenantID), \(floor))",
                    logger: self.logger
                )
                for try await (points, rollups, entities) in rows.decode((Int64, Int64, Int64).self) {
                    (tenant.points, tenant.rollups, tenant.entities) = (Int(points), Int(rollups), Int(entities))
                }
            } else {
                try await self.expire(&tenant, floor: floor, changed: changed)
            }
            if tenant.points + tenant.rollups + tenant.entities > 0 { report.tenants.append(tenant) }
        }
        return report
    }

    private func expire(_ tenant: inout Report.TenantReport, floor: Date, changed: @Sendable (ProjectionChange) async -> Void) async throws {
        while true {
            let rows = try await self.client.liveQuery(
                "SELECT points, rollups FROM retention_delete_batch(\(tenant.tenantID), \(floor), \(self.options.batchSize)::integer)",
                logger: self.logger
            )
            var done = true
            for try await (points, rollups) in rows.decode((Int64, Int64).self) {
                tenant.points += Int(points)
                tenant.rollups += Int(rollups)
                done = points == 0 && rollups == 0
            }
            if done { break }
        }
        let rows = try await self.client.liveQuery("SELECT entity_id, version FROM retention_reproject(\(tenant.tenantID), \(floor))", logger: self.logger)
        var versions = [Int64: Int64]()
        for try await (entity, version) in rows.decode((Int64, Int64).self) { versions[entity] = max(versions[entity] ?? 0, version) }
        tenant.entities = versions.count
        if tenant.points + tenant.rollups + versions.count > 0 {
            let tenantID = tenant.tenantID
            let entities = versions.map { ProjectionChange.EntityRef(tenantID: tenantID, entityID: $0.key, version: $0.value) }
            await changed(ProjectionChange(tenants: [tenantID], entities: entities, atMicros: versions.values.max() ?? Self.micros(Date())))
            self.logger.notice(
                "Retention expired a tenant's old points",
                metadata: ["tenant.id": "\(tenantID)", "points": "\(tenant.points)", "rollups": "\(tenant.rollups)", "entities": "\(versions.count)"]
            )
        }
    }

    private func partitions(at: Date) async throws -> [Report.PartitionReport] {
        let rows = try await self.client.liveQuery(
            """
            SELECT partition_name, (extract(epoch FROM range_start) * 1000000)::bigint, (extract(epoch FROM range_end) * 1000000)::bigint, held_by
              FROM retention_partitions(\(at))
            """,
            logger: self.logger
        )
        var partitions = [Report.PartitionReport]()
        for try await (name, start, end, heldBy) in rows.decode((String, Int64, Int64, [Int64]).self) {
            partitions.append(.init(name: name, startMicros: start, endMicros: end, heldBy: heldBy, dropped: false))
        }
        return partitions
    }

    private func tenants(at: Date) async throws -> [Report.TenantReport] {
        let rows = try await self.client.liveQuery(
            """
            SELECT tenant_id, name, retention_months, (extract(epoch FROM retention_floor(retention_months, \(at))) * 1000000)::bigint
              FROM tenants_with_retention()
             ORDER BY tenant_id
            """,
            logger: self.logger
        )
        var tenants = [Report.TenantReport]()
        for try await (id, name, months, floor) in rows.decode((Int64, String, Int, Int64).self) {
            tenants.append(.init(tenantID: id, name: name, retentionMonths: months, floorMicros: floor, points: 0, rollups: 0, entities: 0))
        }
        return tenants
    }

    static func micros(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded(.down))
    }
}
