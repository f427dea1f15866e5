import Foundation
import Logging
import PostgresNIO
import TesseraCore
import TesseraLocal

/// `bench all`'s storage rows: bytes per stored value of each system holding the same values
/// (PostgreSQL: heap, indexes and TOAST, `pg_total_relation_size`; InfluxDB: its data and WAL
/// folders on disk), and of Tessera's oldest month once archived to its compressed file, taken
/// before and after the archive and restored at once (checked row for row), so the dataset
/// stays whole for the rest of the run and the next.
struct AllBenchStorage {
    let pg: PostgresClient
    let primary: DatabaseURL
    let directory: String
    let influxDirectory: String?
    let logger: Logger

    func run(report: inout BenchReport, stored: Int, naiveRows: Int, failures: inout [String]) async throws {
        print("Storage...")
        let tessera = try await self.bytes(
            "SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0)::bigint FROM pg_inherits WHERE inhparent = 'entity_values_ts'::regclass"
        )
        let beside = try await self.bytes(
            "SELECT (pg_total_relation_size('entity_jsonb') + pg_total_relation_size('entity_hot_numbers') + pg_total_relation_size('entity_values_hourly'))::bigint"
        )
        let naive = try await self.bytes(
            "SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0)::bigint FROM pg_inherits WHERE inhparent = 'naive_eav.entity_values'::regclass"
        )
        var cells: [String: BenchReport.Cell] = [
            "Tessera": .bytes(
                Double(tessera) / Double(max(stored, 1)),
                note: String(format: "+%.0f B for the projection, numbers and rollups", Double(beside) / Double(max(stored, 1)))
            ),
            "PostgreSQL COPY": .absent("same table as Tessera"),
            "naive EAV": .bytes(Double(naive) / Double(max(naiveRows, 1))),
            "pure JSONB": .absent("keeps no history"),
        ]
        if let influxDirectory {
            let onDisk = Self.folderBytes(influxDirectory + "/data") + Self.folderBytes(influxDirectory + "/wal")
            cells["InfluxDB"] = .bytes(Double(onDisk) / Double(max(stored, 1)), note: "data and WAL on disk")
        }
        report.add("storage: bytes per stored value", .bytes, target: "—", cells)

        // The oldest month, archived and restored.
        let archiver = try MonthArchiver(url: self.primary, directory: self.directory + "/archive", settle: .zero, logger: self.logger)
        guard let month = try await offloaded({ try archiver.list().first { $0.state == "in database" }?.month }) else {
            report.add("cold month archived (gzip COPY file)", .bytes, target: "—", ["Tessera": .absent("no past month in the dataset")])
            return
        }
        let manifest = try await offloaded { try archiver.export(month) }
        let afterArchive = try await self.bytes(
            "SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0)::bigint FROM pg_inherits WHERE inhparent = 'entity_values_ts'::regclass"
        )
        let restored = try await offloaded { try archiver.restore(month) }
        if restored.rows != manifest.rows { failures.append("the archived month \(month) came back with \(restored.rows) rows of \(manifest.rows)") }
        try? FileManager.default.removeItem(atPath: self.directory + "/archive")
        let inDatabase = Double(tessera - afterArchive) / Double(max(manifest.rows, 1))
        var cold: [String: BenchReport.Cell] = [
            "Tessera": .bytes(
                Double(manifest.bytes) / Double(max(manifest.rows, 1)),
                note: String(format: "%@: %lld values, %.0f B each in the database", month, manifest.rows, inDatabase)
            )
        ]
        cold["InfluxDB"] = cells["InfluxDB"]
        report.add("cold month archived (gzip COPY file)", .bytes, target: "—", cold)
        print(
            "  Tessera \(tessera / 1_048_576) MiB for \(stored) values; \(month) archived: \(afterArchive / 1_048_576) MiB left, "
                + "\(manifest.bytes / 1024) KiB in its file for \(manifest.rows) values; restored"
        )
    }

    private func bytes(_ sql: String) async throws -> Int64 {
        let rows = try await self.pg.query(PostgresQuery(unsafeSQL: sql), logger: self.logger)
        for try await value in rows.decode(Int64.self) { return value }
        return 0
    }

    /// The bytes of the files under `path`.
    static func folderBytes(_ path: String) -> Int64 {
        guard let files = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total: Int64 = 0
        for case let file as String in files {
            let attributes = try? FileManager.default.attributesOfItem(atPath: path + "/" + file)
            if attributes?[.type] as? FileAttributeType == .typeRegular { total += (attributes?[.size] as? NSNumber)?.int64Value ?? 0 }
        }
        return total
    }
}
