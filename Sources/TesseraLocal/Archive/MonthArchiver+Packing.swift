import Foundation
import TesseraCore

/// Packed months (README: Data lifecycle and backups, "Packed months"; migration 0027): a past
/// month's points turned into one row per (tenant, entity, attribute, month) of lz4-compressed
/// arrays in `entity_values_packed`, still in the database and read by every read path; and
/// back into rows. Points written into a packed month later are stored as rows beside the packs
/// (their packs unpacked by the flush) until the month is packed again.
extension MonthArchiver {
    /// What packing a month did.
    package struct PackReport: Sendable, Codable {
        package var month: String
        package var points: Int64
        package var tenants: Int
        /// The month's partition (rows, indexes) before packing.
        package var bytesBefore: Int64
        /// The partition after packing, vacuumed and reindexed, plus the month's packs.
        package var bytesAfter: Int64
    }

    /// The bytes a pack takes: its columns as stored (compressed, TOASTed), and a tuple header.
    static let packBytes =
        "(24 + pg_column_size(p.ts) + coalesce(pg_column_size(p.values_int), 0) + coalesce(pg_column_size(p.values_decimal), 0)"
        + " + coalesce(pg_column_size(p.values_text), 0) + coalesce(pg_column_size(p.values_bool), 0)"
        + " + coalesce(pg_column_size(p.values_ts), 0) + coalesce(pg_column_size(p.values_json), 0) + 72)"

    /// Packs `month` ("YYYY-MM", before the current one) a tenant at a time (each one
    /// transaction, which the flush waits for), then vacuums and reindexes its partition so
    /// that the space of the rows is given back.
    package func pack(_ month: String) throws -> PackReport {
        let (start, _, table) = try Self.parse(month)
        guard try self.sql("SELECT \(Self.literal(start))::date < date_trunc('month', now() AT TIME ZONE 'UTC')::date") == "t" else {
            throw LocalClusterError.commandFailed("\(month) is the current month or later: only past months are packed.")
        }
        guard try self.sql("SELECT to_regclass(\(Self.literal(table))) IS NOT NULL") == "t" else {
            throw LocalClusterError.commandFailed("\(month) has no partition in the database (nothing was written then, or it was archived or dropped).")
        }
        let before = Int64(try self.sql("SELECT pg_total_relation_size(\(Self.literal(table)))")) ?? 0
        let tenants = try self.sql("SELECT DISTINCT tenant_id FROM \(table) ORDER BY 1").split(separator: "\n").compactMap { Int64($0) }
        var points: Int64 = 0
        for tenant in tenants {
            points += Int64(try self.sql("SELECT pack_month(\(Self.literal(start)), \(tenant))")) ?? 0
        }
        // The rows' space: the heap's pages are cut off by VACUUM, the indexes' only by a rebuild.
        _ = try self.sql("VACUUM (ANALYZE) \(table)")
        _ = try self.sql("REINDEX TABLE CONCURRENTLY \(table)")
        let after =
            Int64(
                try self.sql(
                    """
                    SELECT pg_total_relation_size(\(Self.literal(table)))
                           + coalesce((SELECT sum(\(Self.packBytes)) FROM entity_values_packed p
                                        WHERE p.month = \(Self.literal(start))::timestamp AT TIME ZONE 'UTC'), 0)::bigint
                    """
                )
            ) ?? 0
        return PackReport(month: month, points: points, tenants: tenants.count, bytesBefore: before, bytesAfter: after)
    }

    /// Turns `month`'s packs back into rows; returns how many points.
    package func unpack(_ month: String) throws -> Int64 {
        let (start, _, _) = try Self.parse(month)
        return Int64(try self.sql("SELECT unpack_month(\(Self.literal(start)))")) ?? 0
    }

    /// The past months in the database, not packed (or packed and written since), that began
    /// `months` or more months before the current one.
    package func monthsToPack(olderThan months: Int) throws -> [String] {
        let written = Set(
            try self.sql(
                """
                SELECT to_char(m.month AT TIME ZONE 'UTC', 'YYYY-MM') FROM packed_months m
                 WHERE EXISTS (SELECT 1 FROM entity_values_ts e WHERE e.ts >= m.month AND e.ts < m.month_end)
                """
            ).split(separator: "\n").map(String.init)
        )
        let unpacked = Set(try self.months(olderThan: months, in: ["in database"]))
        return try self.months(olderThan: months, in: ["in database", "packed"]).filter { unpacked.contains($0) || written.contains($0) }
    }
}
