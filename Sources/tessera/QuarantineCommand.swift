import ArgumentParser
import TesseraStore

/// `tessera quarantine list|replay|drop`: the rows PostgreSQL refused, set aside by the
/// flush or the staging write instead of stopping every tenant's writes.
struct QuarantineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quarantine",
        abstract: "List, store again, or drop the points PostgreSQL refused (kept in ingest_quarantine).",
        subcommands: [List.self, Replay.self, Drop.self]
    )

    struct Filter: ParsableArguments {
        @Option(help: "Only this tenant's rows.") var tenant: Int64?
        @Option(help: "Only this batch's rows.") var batch: Int64?

        var selection: Quarantine.Selection { .init(tenantID: self.tenant, batchID: self.batch) }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each quarantined batch of a tenant: points, SQLSTATE, reason, when.")
        @OptionGroup var options: DatabaseOptions
        @OptionGroup var filter: Filter

        func run() async throws {
            let logger = self.options.makeLogger()
            let url = try self.options.primaryURL(logger: logger)
            let selection = self.filter.selection
            let groups = try await withPostgresClient(url: url, logger: logger) { client in
                try await Quarantine(client: client, logger: logger).list(selection)
            }
            guard !groups.isEmpty else {
                print("The quarantine is empty.")
                return
            }
            print("tenant\tbatch\tpoints\tsqlstate\tquarantined_at\treason")
            for group in groups {
                print("\(group.tenantID)\t\(group.batchID)\t\(group.points)\t\(group.sqlState)\t\(group.quarantinedAt)\t\(group.reason)")
            }
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store the selected rows again (all or none, in one transaction), once the cause is fixed."
        )
        @OptionGroup var options: DatabaseOptions
        @OptionGroup var filter: Filter

        func run() async throws {
            let logger = self.options.makeLogger()
            let url = try self.options.primaryURL(logger: logger)
            let selection = self.filter.selection
            let stored = try await withPostgresClient(url: url, logger: logger) { client in
                try await Quarantine(client: client, logger: logger).replay(selection)
            }
            print("Stored \(stored) points; they left the quarantine.")
        }
    }

    struct Drop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete the selected rows for good (--tenant or --batch, or --all).")
        @OptionGroup var options: DatabaseOptions
        @OptionGroup var filter: Filter
        @Flag(help: "Drop every quarantined row.") var all = false

        func validate() throws {
            if !self.all && self.filter.tenant == nil && self.filter.batch == nil {
                throw ValidationError("Say which rows: --tenant, --batch, or --all.")
            }
        }

        func run() async throws {
            let logger = self.options.makeLogger()
            let url = try self.options.primaryURL(logger: logger)
            let selection = self.filter.selection
            let dropped = try await withPostgresClient(url: url, logger: logger) { client in
                try await Quarantine(client: client, logger: logger).drop(selection)
            }
            print("Dropped \(dropped) points.")
        }
    }
}
