import ArgumentParser
import Foundation
import TesseraCore
import TesseraLocal

/// `tessera backup [--type full|diff|incr]` and `tessera backup list`: the local cluster's
/// pgBackRest backups (README: Data lifecycle and backups).
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up the local cluster with pgBackRest (its WAL is archived continuously), or list the backups.",
        subcommands: [Take.self, List.self],
        defaultSubcommand: Take.self
    )

    struct Take: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "take", abstract: "Take a backup now (the default subcommand).")
        @OptionGroup var options: DatabaseOptions
        @Option(help: "full, diff (changes since the last full) or incr (since the last backup).") var type: String = "incr"
        @Flag(help: "Print the catalog as JSON.") var json = false

        func run() async throws {
            guard let type = BackupType(rawValue: self.type) else { throw ValidationError("--type must be full, diff or incr.") }
            let catalog = try await self.options.localCluster(logger: self.options.makeLogger()).backup(type)
            try printCatalog(catalog, json: self.json)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The backups in the repository and the archived WAL: what a restore can reach.")
        @OptionGroup var options: DatabaseOptions
        @Flag(help: "Print the catalog as JSON.") var json = false

        func run() async throws {
            let catalog = try await self.options.localCluster(logger: self.options.makeLogger()).backups()
            try printCatalog(catalog, json: self.json)
        }
    }
}

func printCatalog(_ catalog: BackupCatalog, json: Bool) throws {
    if json {
        try printJSON(catalog)
        return
    }
    let formatter = ISO8601DateFormatter()
    print("Repository: \(catalog.status); archived WAL \(catalog.oldestWAL ?? "none") … \(catalog.newestWAL ?? "none")")
    for backup in catalog.backups {
        print(
            "  \(backup.label)  \(backup.type)  \(formatter.string(from: backup.started)) → \(formatter.string(from: backup.stopped))  "
                + "database \(backup.databaseBytes / 1_048_576) MiB, stored \(backup.repositoryBytes / 1_048_576) MiB"
        )
    }
    if catalog.backups.isEmpty { print("  (no backups)") }
}
