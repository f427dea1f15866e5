import ArgumentParser
import Foundation
import Logging
import TesseraServer

@main
struct Tessera: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tessera",
        abstract: "A multi-tenant telemetry store on PostgreSQL.",
        subcommands: [
            ServeCommand.self, MigrateCommand.self, ClusterCommand.self, TenantCommand.self, KeyCommand.self, HealthCommand.self, QuarantineCommand.self,
            OpsCommand.self, RetentionCommand.self, BackupCommand.self, RestoreCommand.self, ArchiveCommand.self,
        ]
    )

    /// Chooses the log format before any logger exists (`TESSERA_LOG_FORMAT`), then runs
    /// the command as ArgumentParser would.
    static func main() async {
        if ProcessInfo.processInfo.environment["TESSERA_LOG_FORMAT"]?.lowercased() == "json" {
            LoggingSystem.bootstrap { label in JSONLogHandler(label: label) }
        }
        do {
            var command = try Self.parseAsRoot()
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            Self.exit(withError: error)
        }
    }
}
