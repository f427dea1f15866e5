import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import TesseraCore
import TesseraLocal

/// `tessera-bench restore`: the recovery time objective on this machine. A cluster that
/// archives its WAL with pgBackRest holds the benchmark's synthetic dataset; it is restored
/// into a new folder twice, each time until the restored primary is promoted and answers:
/// to a time T just after the load from the last backup before T (in a new folder, the one
/// `up` took before the load: every value replayed from the archived WAL, the worst case
/// between backups; a reused folder's dataset has a later one), and, after a full backup, to
/// the end of the archive (the files copied, little WAL replayed).
struct RestoreBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "restore", abstract: "Restore time (RTO) of the synthetic dataset with pgBackRest.")

    @Option(help: "Folder of the benchmark's own local cluster (the restores go beside it, then are removed).") var dir = ".tessera-bench-restore"
    @Option(help: "Entities of the synthetic dataset.") var entities = 100_000
    @Option(help: "Values of the synthetic dataset.") var values = 2_000_000
    @Option(help: "Port of the benchmark's server on 127.0.0.1.") var port = 18481
    @Flag(help: "A small dataset and the test profile, for CI: checks it works, measures nothing.") var smoke = false

    func run() async throws {
        var logger = Logger(label: "tessera.bench")
        logger.logLevel = .warning
        var shape = ReadBenchDataset.Shape(entities: self.entities, values: self.values, aggregateRows: max(1, self.values / 20))
        if self.smoke { shape = .init(entities: 2_000, values: 40_000, aggregateRows: 2_000) }
        let dataset = ReadBenchDataset(shape: shape)
        let environment = try await BenchEnvironment.start(
            directory: self.dir,
            replicas: 0,
            port: self.port,
            smoke: self.smoke,
            backups: BackupSettings(),
            logger: logger
        )
        let profile: LocalCluster.Configuration.Profile = self.smoke ? .test : .tuned
        let source = LocalCluster(configuration: .init(directory: self.dir, profile: profile, backups: BackupSettings()), logger: logger)
        do {
            _ = try await environment.dataset(dataset, logger: logger)
            let (stored, bytes) = try await Self.measure(environment.primary, logger: logger)
            print("Source: \(stored) values, database \(bytes / 1_048_576) MiB")
            try await Task.sleep(for: .seconds(1))
            let pointInTime = Date()
            try await Task.sleep(for: .seconds(1))
            let before = try await source.backups()

            print("Restore to T from \(before.backups.last?.label ?? "?") (WAL replayed since)...")
            let replayed = try await self.restore(source, to: pointInTime, name: "restored-to-t", stored: stored, profile: profile, logger: logger)

            print("Full backup...")
            let backupStarted = ContinuousClock.now
            let after = try await source.backup(.full)
            let backupSeconds = (ContinuousClock.now - backupStarted).benchSeconds
            print("Restore to the end of the archive from \(after.backups.last?.label ?? "?")...")
            let copied = try await self.restore(source, to: nil, name: "restored-latest", stored: stored, profile: profile, logger: logger)

            let repository = after.backups.last.map { "\($0.repositoryBytes / 1_048_576) MiB in the repository" } ?? ""
            print(
                """

                | dataset | database | restore to T, WAL replayed since \(before.backups.last?.label ?? "?") | full backup | restore, from that backup |
                |---|---|---|---|---|
                | \(stored) values, \(shape.entities) entities | \(bytes / 1_048_576) MiB | \(String(format: "%.1f", replayed)) s | \(String(format: "%.1f", backupSeconds)) s (\(repository)) | \(String(format: "%.1f", copied)) s |
                """
            )
        } catch {
            await environment.stop()
            throw error
        }
        await environment.stop()
    }

    /// Restores into `<dir>-<name>`, checks the restored primary holds `stored` values, stops
    /// and removes it; returns the seconds from the restore command until it answered.
    private func restore(
        _ source: LocalCluster,
        to time: Date?,
        name: String,
        stored: Int,
        profile: LocalCluster.Configuration.Profile,
        logger: Logger
    )
        async throws -> Double
    {
        let directory = URL(fileURLWithPath: self.dir).standardizedFileURL.path + "-" + name
        LocalCluster.stopNow(directory: directory)
        try? FileManager.default.removeItem(atPath: directory)
        let target = LocalCluster(configuration: .init(directory: directory, profile: profile, redis: .off), logger: logger)
        // Whatever happens, the restored cluster stops and its folder goes.
        defer {
            LocalCluster.stopNow(directory: directory)
            try? FileManager.default.removeItem(atPath: directory)
        }
        let started = ContinuousClock.now
        let status = try await source.restore(to: time, into: target)
        let seconds = (ContinuousClock.now - started).benchSeconds
        guard let primary = status.primary else { throw ValidationError("The restored cluster has no primary.") }
        let url = try DatabaseURL.parsed(primary.url)
        let (restored, _) = try await Self.measure(url, logger: logger)
        print("  \(String(format: "%.1f", seconds)) s; the restored primary holds \(restored) values")
        guard restored == stored else { throw ValidationError("The restore holds \(restored) values, not \(stored).") }
        return seconds
    }

    private static func measure(_ url: DatabaseURL, logger: Logger) async throws -> (Int, Int64) {
        try await withPostgresClient(url: url, logger: logger) { client in
            let rows = try await client.query("SELECT (SELECT count(*) FROM entity_values_ts)::bigint, pg_database_size(current_database())", logger: logger)
            for try await (count, bytes) in rows.decode((Int64, Int64).self) { return (Int(count), bytes) }
            return (0, 0)
        }
    }
}
