import ArgumentParser
import TesseraStore

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply the schema migrations this build ships, and make partitions ahead."
    )
    @OptionGroup var options: DatabaseOptions

    func run() async throws {
        let logger = self.options.makeLogger()
        let url = try self.options.primaryURL(logger: logger)
        let report = try await withPostgresClient(url: url, logger: logger) { client in
            try await Migrator(client: client, logger: logger).migrate()
        }
        let applied = report.applied.isEmpty ? "none (already current)" : report.applied.map(String.init).joined(separator: ", ")
        print("Schema at version \(report.schemaVersion); applied now: \(applied); partitions created: \(report.partitionsCreated).")
    }
}
