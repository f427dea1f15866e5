import ArgumentParser
import Foundation
import TesseraCore
import TesseraLocal

/// `tessera archive list|export|restore|pack|unpack`: cold months to compressed files and back
/// (README: Data lifecycle and backups, "Archival of cold months"), or packed in the database
/// ("Packed months").
struct ArchiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive",
        abstract: "Archive past months of points to compressed files in the archive folder, list them, or restore one; or pack them in the database.",
        subcommands: [List.self, Export.self, Restore.self, Cancel.self, Pack.self, Unpack.self]
    )

    struct Folder: ParsableArguments {
        @Option(name: .customLong("archive-dir"), help: "The archive folder (env TESSERA_ARCHIVE_DIR; default <dir>/archive).")
        var archiveDirectory: String?
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The archived months, and the past months still in the database.")
        @OptionGroup var options: DatabaseOptions
        @OptionGroup var folder: Folder
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let archiver = try makeArchiver(self.options, archiveDirectory: self.folder.archiveDirectory, settle: .zero)
            let entries = try await offloaded { try archiver.list() }
            if self.json {
                try printJSON(entries)
                return
            }
            if entries.isEmpty { print("No past month in the database and none archived.") }
            for entry in entries {
                let rows = entry.rows.map { entry.state == "in database" || entry.state == "packed" ? "~\($0) rows" : "\($0) rows" } ?? ""
                let bytes = entry.bytes.map { " \($0 / 1024) KiB" } ?? ""
                print("\(entry.month)  \(entry.state.padding(toLength: 11, withPad: " ", startingAt: 0))  \(rows)\(bytes)  \(entry.location ?? "")")
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export past months (YYYY-MM) to the archive folder, each a gzip-compressed COPY file with a manifest, and drop their partitions."
        )
        @OptionGroup var options: DatabaseOptions
        @OptionGroup var folder: Folder
        @Argument(help: "Months to archive, YYYY-MM.") var months: [String] = []
        @Option(name: .customLong("older-than"), help: "Also every past month in the database that began this many months or more before the current one.")
        var olderThan: Int?
        @Option(help: "Seconds to let the servers learn that a month is being archived (they re-read the list every 5 s).")
        var settleSeconds = 6

        func validate() throws {
            if self.months.isEmpty && self.olderThan == nil { throw ValidationError("Name months (YYYY-MM) or give --older-than MONTHS.") }
            if let olderThan = self.olderThan, olderThan < 1 { throw ValidationError("--older-than must be at least 1.") }
        }

        func run() async throws {
            let archiver = try makeArchiver(self.options, archiveDirectory: self.folder.archiveDirectory, settle: .seconds(self.settleSeconds))
            let named = self.months
            let olderThan = self.olderThan
            try await offloaded {
                var months = named
                if let olderThan { months += try archiver.months(olderThan: olderThan).filter { !named.contains($0) } }
                if months.isEmpty { print("No month to archive.") }
                for month in months {
                    let manifest = try archiver.export(month)
                    print(
                        "\(month): \(manifest.rows) rows to \(manifest.file) (\(manifest.bytes / 1024) KiB, sha256 \(manifest.sha256.prefix(12))…); partition dropped"
                    )
                }
            }
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put an archived month back into the database, the same rows, from its file.")
        @OptionGroup var options: DatabaseOptions
        @OptionGroup var folder: Folder
        @Argument(help: "The month, YYYY-MM.") var month: String

        func run() async throws {
            let archiver = try makeArchiver(self.options, archiveDirectory: self.folder.archiveDirectory, settle: .zero)
            let month = self.month
            let manifest = try await offloaded { try archiver.restore(month) }
            print("\(month): \(manifest.rows) rows restored from \(manifest.file), checksum verified; the month takes points again.")
        }
    }
}

extension ArchiveCommand {
    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lift the fence of an export that stopped half-way (the month is listed as `archiving`): it takes points again."
        )
        @OptionGroup var options: DatabaseOptions
        @OptionGroup var folder: Folder
        @Argument(help: "The month, YYYY-MM.") var month: String

        func run() async throws {
            let archiver = try makeArchiver(self.options, archiveDirectory: self.folder.archiveDirectory, settle: .zero)
            let month = self.month
            try await offloaded { try archiver.cancel(month) }
            print("\(month): the unfinished export's fence is lifted; the month takes points again.")
        }
    }
}

extension ArchiveCommand {
    struct Pack: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pack past months (YYYY-MM) in the database: each series' points of the month as compressed arrays, read as before."
        )
        @OptionGroup var options: DatabaseOptions
        @Argument(help: "Months to pack, YYYY-MM.") var months: [String] = []
        @Option(
            name: .customLong("older-than"),
            help: "Also every past month in the database, not packed or written since its packing, that began this many months or more before the current one."
        )
        var olderThan: Int?
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            if self.months.isEmpty && self.olderThan == nil { throw ValidationError("Name months (YYYY-MM) or give --older-than MONTHS.") }
            if let olderThan = self.olderThan, olderThan < 1 { throw ValidationError("--older-than must be at least 1.") }
        }

        func run() async throws {
            let archiver = try makeArchiver(self.options, archiveDirectory: nil, settle: .zero)
            let named = self.months
            let olderThan = self.olderThan
            let json = self.json
            let reports = try await offloaded {
                var months = named
                if let olderThan { months += try archiver.monthsToPack(olderThan: olderThan).filter { !named.contains($0) } }
                if months.isEmpty && !json { print("No month to pack.") }
                let reports = try archiver.pack(months)
                for report in reports where !json {
                    let perValue = { (bytes: Int64) in report.points > 0 ? String(format: "%.1f", Double(bytes) / Double(report.points)) : "-" }
                    print(
                        "\(report.month): \(report.points) points of \(report.tenants) tenants packed; "
                            + "\(report.bytesBefore / 1024) KiB -> \(report.bytesAfter / 1024) KiB (\(perValue(report.bytesBefore)) -> \(perValue(report.bytesAfter)) bytes a point)"
                    )
                }
                if reports.contains(where: { !$0.reclaimed }) && !json {
                    print("A transaction or a replica's query older than the packing still sees the rows: a later VACUUM gives their space back.")
                }
                return reports
            }
            if json { try printJSON(reports) }
        }
    }

    struct Unpack: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Turn a packed month's points back into rows.")
        @OptionGroup var options: DatabaseOptions
        @Argument(help: "The month, YYYY-MM.") var month: String

        func run() async throws {
            let archiver = try makeArchiver(self.options, archiveDirectory: nil, settle: .zero)
            let month = self.month
            let points = try await offloaded { try archiver.unpack(month) }
            print("\(month): \(points) points unpacked into rows.")
        }
    }
}

/// The archiver of the cluster `options` name. Packing needs no archive folder: a command
/// without `--archive-dir` passes nil (a `Folder` made with `init()` has no parsed values, and
/// reading its option traps).
private func makeArchiver(_ options: DatabaseOptions, archiveDirectory: String?, settle: Duration) throws -> MonthArchiver {
    let logger = options.makeLogger()
    let directory = archiveDirectory ?? options.environment.archiveDirectory ?? options.resolvedDirectory + "/archive"
    do {
        return try MonthArchiver(
            url: try options.primaryURL(logger: logger),
            directory: directory,
            binDirectory: options.environment.postgresBinDirectory,
            settle: settle,
            logger: logger
        )
    } catch let error as LocalClusterError {
        throw OperatorError(message: error.description)
    }
}
