import ArgumentParser
import Foundation
import TesseraCore
import TesseraLocal

/// `tessera restore --dir SOURCE [--to TIME] --target-dir NEW`.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore the local cluster of --dir, as it was at --to, into a new cluster folder, started and ready for `tessera serve --dir NEW`."
    )
    @OptionGroup var options: DatabaseOptions
    @Option(help: "The RFC 3339 time to restore to (default: the end of the WAL archive, the latest state).") var to: String?
    @Option(name: .customLong("target-dir"), help: "The new cluster's folder (must not hold a cluster).") var targetDirectory: String

    func run() async throws {
        var time: Date?
        if let to = self.to {
            guard let micros = Timestamps.parseRFC3339(to) else { throw ValidationError("--to must be an RFC 3339 time, e.g. 2027-01-01T12:00:00Z.") }
            time = Date(timeIntervalSince1970: Double(micros) / 1_000_000)
        }
        let logger = self.options.makeLogger()
        let source = self.options.localCluster(logger: logger)
        var configuration = source.configuration
        configuration.directory = self.targetDirectory
        configuration.pooler = PoolerSettings()
        // The new cluster archives into a repository of its own (under its data root): in the
        // source's, its new timeline would mix with the source's WAL and its backups expire the source's.
        configuration.backups?.repository = nil
        let started = ContinuousClock.now
        let status = try await source.restore(to: time, into: LocalCluster(configuration: configuration, logger: logger))
        print("Restored in \((ContinuousClock.now - started).components.seconds) s; serve it with `tessera serve --dir \(self.targetDirectory)`.")
        try printStatus(status, json: false)
    }
}
