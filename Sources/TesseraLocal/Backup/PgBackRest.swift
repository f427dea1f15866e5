import Foundation
import Logging

/// The local cluster's pgBackRest repository (stanza `tessera`): the configuration file
/// in `<data root>/pgbackrest`, the `archive_command` that pushes each finished WAL
/// segment into the repository, and the backup, info and restore commands, run as the
/// user PostgreSQL runs as (the repository and the data directory are that user's).
///
/// pgBackRest connects to PostgreSQL for backups (to start and stop them); the cluster
/// listens on TCP only, so it is given `PGHOST` and the superuser's password in its
/// environment, never in the configuration file.
package struct PgBackRest: Sendable {
    package static let stanza = "tessera"

    /// `<data root>/pgbackrest`: the configuration, logs, locks and (by default) the repository.
    let directory: String
    let executable: String
    let runAs: OSUser?
    let logger: Logger

    var configurationFile: String { self.directory + "/pgbackrest.conf" }

    package static func locate() -> String? {
        ["/usr/bin/pgbackrest", "/usr/local/bin/pgbackrest"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The PostgreSQL settings that archive every WAL segment into the repository.
    func archiveSettings(_ settings: BackupSettings) -> String {
        // Paths in double quotes for the shell that runs the command (a folder with a space).
        let command = "\"\(self.executable)\" --config=\"\(self.configurationFile)\" --stanza=\(Self.stanza) archive-push %p"
        return """
            archive_mode = on                     # pgBackRest's WAL archive (README: Data lifecycle and backups)
            archive_command = '\(command.replacingOccurrences(of: "'", with: "''"))'
            archive_timeout = \(settings.archiveTimeoutSeconds)                   # the RPO on a quiet cluster: a segment is archived at least this often

            """
    }

    /// Writes the configuration for the primary in `dataDirectory` on `port`.
    func configure(dataDirectory: String, port: Int, superuser: String, settings: BackupSettings) throws {
        let repository = settings.repository ?? self.directory + "/repo"
        for folder in [self.directory, repository, self.directory + "/log", self.directory + "/lock", self.directory + "/spool"] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
            self.runAs?.own(folder)
        }
        let text = """
            # Written by tessera cluster up; edits are overwritten at the next start.
            [global]
            repo1-path=\(repository)
            repo1-retention-full=\(settings.fullBackupsKept)
            log-path=\(self.directory)/log
            lock-path=\(self.directory)/lock
            spool-path=\(self.directory)/spool
            compress-type=lz4
            start-fast=y
            log-level-console=warn
            log-level-file=info

            [\(Self.stanza)]
            pg1-path=\(dataDirectory)
            pg1-port=\(port)
            pg1-user=\(superuser)

            """
        FileManager.default.createFile(atPath: self.configurationFile, contents: Data(text.utf8), attributes: [.posixPermissions: 0o640])
        self.runAs?.own(self.configurationFile)
    }

    /// Creates the stanza in the repository (a no-op when it exists for this cluster).
    func createStanza(password: String) throws {
        try self.run(["stanza-create"], password: password)
    }

    /// Takes a backup; returns pgBackRest's output.
    @discardableResult
    func backup(_ type: BackupType, password: String) throws -> String {
        self.logger.info("Taking a backup", metadata: ["backup.type": "\(type.rawValue)"])
        return try self.run(["--type=\(type.rawValue)", "backup"], password: password)
    }

    /// Forces a WAL switch and waits until the segment is in the repository: afterwards,
    /// everything committed so far can be restored.
    func check(password: String) throws {
        try self.run(["check"], password: password)
    }

    /// The repository's backups and the range of archived WAL.
    func info() throws -> BackupCatalog {
        let output = try self.run(["--output=json", "info"], password: nil)
        return try BackupCatalog(pgBackRestJSON: Data(output.utf8))
    }

    /// Restores the backup that precedes `time` (the latest backup when nil) into the empty
    /// folder `dataDirectory`, set to replay the archived WAL up to `time` (to the end of the
    /// archive when nil) and then promote.
    func restore(into dataDirectory: String, to time: Date?) throws {
        var arguments = ["--pg1-path=\(dataDirectory)"]
        if let time {
            arguments += ["--type=time", "--target=\(Self.targetFormat(time))", "--target-action=promote"]
        }
        try self.run(arguments + ["restore"], password: nil)
    }

    static func targetFormat(_ time: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss.SSSSSS'+00'"
        return formatter.string(from: time)
    }

    @discardableResult
    private func run(_ arguments: [String], password: String?) throws -> String {
        var environment = ["PGHOST": "127.0.0.1", "PGCONNECT_TIMEOUT": "10"]
        if let password { environment["PGPASSWORD"] = password }
        let result = try Command(
            executable: self.executable,
            arguments: ["--config=\(self.configurationFile)", "--stanza=\(Self.stanza)"] + arguments,
            environment: environment,
            user: self.runAs?.name
        ).run()
        guard result.status == 0 else {
            throw LocalClusterError.commandFailed(
                "pgbackrest \(arguments.last ?? "") failed (status \(result.status)): "
                    + result.output.trimmingCharacters(in: .whitespacesAndNewlines) + " (log: \(self.directory)/log)"
            )
        }
        return result.output
    }
}
