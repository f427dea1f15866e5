import Foundation
import TesseraCore

/// Packed months (README: Data lifecycle and backups, "Packed months"; migrations 0027, 0028):
/// a past month's points turned into packs of lz4-compressed arrays in `entity_values_packed`
/// (whole series of one attribute, ~1,000 points a pack), still in the database and read by every read path; and
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
        /// False when a snapshot older than the packing (an open transaction, a replica's
        /// query) outlived the wait: the rows' space is given back by a later VACUUM.
        package var reclaimed: Bool
    }

    /// The bytes a pack takes: its columns as stored (compressed, TOASTed), and a tuple header.
    static let packBytes =
        "(24 + pg_column_size(p.entity_ids) + pg_column_size(p.ts) + coalesce(pg_column_size(p.values_int), 0) + coalesce(pg_column_size(p.values_decimal), 0)"
        + " + coalesce(pg_column_size(p.values_text), 0) + coalesce(pg_column_size(p.values_bool), 0)"
        + " + coalesce(pg_column_size(p.values_ts), 0) + coalesce(pg_column_size(p.values_json), 0) + 72)"

    /// Packs `month` ("YYYY-MM", before the current one); see `pack(_ months:)`.
    package func pack(_ month: String) throws -> PackReport {
        try self.pack([month])[0]
    }

    /// Packs each month ("YYYY-MM", before the current one) a tenant at a time (each one
    /// transaction, which the flush waits for); then, once no snapshot can see the rows it
    /// moved, vacuums and reindexes each month's partition so that their space is given back.
    package func pack(_ months: [String]) throws -> [PackReport] {
        guard !months.isEmpty else { return [] }
        var reports = [PackReport]()
        var packed = [(start: String, table: String)]()
        for month in months {
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
            reports.append(PackReport(month: month, points: points, tenants: tenants.count, bytesBefore: before, bytesAfter: 0, reclaimed: false))
            packed.append((start, table))
        }
        let reclaimed = try self.waitForOlderSnapshots(limit: Self.snapshotWait)
        for (index, (start, table)) in packed.enumerated() {
            // The rows' space: the heap's pages are cut off by VACUUM, the indexes' only by a rebuild.
            _ = try self.sql("VACUUM (ANALYZE) \(table)")
            _ = try self.sql("REINDEX TABLE CONCURRENTLY \(table)")
            reports[index].bytesAfter =
                Int64(
                    try self.sql(
                        """
                        SELECT pg_total_relation_size(\(Self.literal(table)))
                               + coalesce((SELECT sum(\(Self.packBytes)) FROM entity_values_packed p
                                            WHERE p.month = \(Self.literal(start))::timestamp AT TIME ZONE 'UTC'), 0)::bigint
                        """
                    )
                ) ?? 0
            reports[index].reclaimed = reclaimed
        }
        return reports
    }

    /// How long packing waits for older snapshots before it vacuums anyway: a replica's
    /// `hot_standby_feedback` reports its oldest snapshot every 10 s.
    static let snapshotWait: TimeInterval = 60

    /// Waits until no snapshot older than now is held: by a session here, by a replica
    /// through its feedback, or by a replication slot. Until then VACUUM cannot remove the
    /// rows a packing deleted (they are still visible to that snapshot). Returns false when
    /// one is still held after `limit`.
    func waitForOlderSnapshots(limit: TimeInterval) throws -> Bool {
        guard let current = UInt64(try self.sql("SELECT pg_current_xact_id()")) else { return false }
        let xid = current & 0xFFFF_FFFF
        let deadline = Date().addingTimeInterval(limit)
        while true {
            let held = try self.sql(
                """
                SELECT count(*) FROM (
                    SELECT backend_xmin AS x FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_xmin IS NOT NULL
                    UNION ALL SELECT backend_xmin FROM pg_stat_replication WHERE backend_xmin IS NOT NULL
                    UNION ALL SELECT xmin FROM pg_replication_slots WHERE xmin IS NOT NULL
                ) h WHERE age(h.x) >= age('\(xid)'::xid)
                """
            )
            if held == "0" { return true }
            if Date() >= deadline { return false }
            usleep(500_000)
        }
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
