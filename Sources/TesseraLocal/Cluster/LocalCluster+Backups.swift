import Foundation
import Logging

/// Backups of the local cluster with pgBackRest (README: Data lifecycle and backups):
/// the WAL archive `up` keeps, backups on demand, and point-in-time restores into a new
/// cluster folder.
extension LocalCluster {
    /// The cluster's pgBackRest, when backups are configured and pgBackRest is installed.
    func backRest(dataRoot: String, runAs: OSUser?) -> PgBackRest? {
        guard self.configuration.backups != nil else { return nil }
        guard let executable = PgBackRest.locate() else {
            self.logger.notice("pgbackrest is not installed; the local cluster keeps no WAL archive and no backups (apt-get install pgbackrest)")
            return nil
        }
        return PgBackRest(directory: dataRoot + "/pgbackrest", executable: executable, runAs: runAs, logger: self.logger)
    }

    /// Archiving on from now: the repository configured for the primary's current port, its
    /// stanza made, `archive_mode` on (a restart when the primary ran without it), and a first
    /// full backup when the repository has none, so a point in time can be restored at once.
    /// A failure is logged, not thrown: the database stays up without its archive, which is
    /// turned off again (a restart), so that WAL the archive would refuse does not pile up in
    /// `pg_wal` until the disk is full.
    func startArchiving(_ backRest: PgBackRest, settings: BackupSettings, server: PostgresServer, port: Int, password: String) {
        do {
            // archive_mode was in the settings the server started (or `up` restarted it) with.
            try backRest.configure(dataDirectory: server.dataDirectory, port: port, superuser: self.configuration.superuser, settings: settings)
            try backRest.createStanza(password: password)
            if try backRest.info().backups.isEmpty {
                try backRest.backup(.full, password: password)
            }
        } catch {
            self.logger.error(
                "The WAL archive could not be set up; the cluster runs without backups (archive_mode off) until the next `up` sets it up",
                metadata: ["error": "\(error)", "pgbackrest.log": "\(backRest.directory)/log"]
            )
            var plain = server
            plain.extraSettings = ""
            do {
                try plain.writeSettings()
                try plain.restartIfSettingsNeedIt(port: port)
            } catch {
                self.logger.error("Could not turn the WAL archive off", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Takes a backup of the running primary; returns the repository's catalog after it.
    package func backup(_ type: BackupType) async throws -> BackupCatalog {
        try await offloaded {
            let (backRest, password) = try self.existingBackRest()
            try backRest.backup(type, password: password)
            return try backRest.info()
        }
    }

    /// The repository's backups and archived WAL.
    package func backups() async throws -> BackupCatalog {
        try await offloaded { try self.existingBackRest().0.info() }
    }

    /// Restores this cluster's data, as it was at `time` (at the end of the archive when nil),
    /// into the cluster folder of `target`, which must hold no cluster yet, and brings that
    /// cluster up (recovered, promoted, with an archive and a first backup of its own when
    /// `target` is configured for backups). When this cluster's primary runs, its current WAL
    /// is archived first, so everything committed until now can be restored.
    package func restore(to time: Date?, into target: LocalCluster) async throws -> ClusterStatus {
        try await offloaded {
            let (backRest, password) = try self.existingBackRest()
            let source = try ClusterStateFile(directory: self.configuration.directory).load()
            let targetFile = ClusterStateFile(directory: target.configuration.directory)
            guard try targetFile.load().dataRoot == nil else {
                throw LocalClusterError.commandFailed("\(target.configuration.directory) holds a cluster already; restore into a new folder.")
            }
            if let repository = target.configuration.backups?.repository, repository == self.configuration.backups?.repository {
                throw LocalClusterError.commandFailed("The restored cluster needs a backup repository of its own, not the source's (\(repository)).")
            }
            if let primary = source.components["primary"], PostgresServer.runningPID(dataDirectory: primary.dataDirectory) != nil {
                // A commit now, so the WAL holds one after any earlier target time (recovery to a
                // time stops at the first commit past it, and fails when there is none), then
                // the current segment archived.
                try Command(
                    executable: try PostgresInstallation.locate(override: self.configuration.binDirectory).tool("psql"),
                    arguments: [
                        "-X", "-h", "127.0.0.1", "-p", "\(primary.port)", "-U", self.configuration.superuser, "-d", "postgres", "-tAc", "SELECT txid_current()",
                    ],
                    environment: ["PGPASSWORD": password, "PGCONNECT_TIMEOUT": "10"]
                ).check()
                try backRest.check(password: password)
            }
            let runAs = try OSUser.forPostgres()
            try FileManager.default.createDirectory(atPath: target.configuration.directory, withIntermediateDirectories: true)
            var state = ClusterStateFile.State()
            state.dataRoot = target.chooseDataRoot(runAs: runAs)
            // The restored database holds the source's roles, with their passwords.
            state.password = source.password
            state.appPassword = source.appPassword
            try targetFile.save(state)
            try FileManager.default.createDirectory(atPath: state.dataRoot!, withIntermediateDirectories: true)
            runAs?.own(state.dataRoot!)
            let started = Date()
            self.logger.info(
                "Restoring",
                metadata: ["restore.to": "\(time.map(PgBackRest.targetFormat) ?? "end of archive")", "target.dir": "\(target.configuration.directory)"]
            )
            let status: ClusterStatus
            do {
                try backRest.restore(into: state.dataRoot! + "/primary", to: time)
                status = try target.upBlocking()
            } catch {
                // Nothing half-restored stays behind: the folder can be used again.
                _ = try? target.downBlocking()
                try? PostgresServer.stop(dataDirectory: state.dataRoot! + "/primary", name: "primary", logger: self.logger)
                try? FileManager.default.removeItem(atPath: state.dataRoot!)
                try? FileManager.default.removeItem(atPath: targetFile.path)
                throw error
            }
            self.logger.info("Restored and promoted", metadata: ["seconds": "\(Int(Date().timeIntervalSince(started)))"])
            return status
        }
    }

    private func existingBackRest() throws -> (PgBackRest, String) {
        let state = try ClusterStateFile(directory: self.configuration.directory).load()
        guard let dataRoot = state.dataRoot, let password = state.password,
            let executable = PgBackRest.locate()
        else {
            throw LocalClusterError.commandFailed("No local cluster with pgBackRest in \(self.configuration.directory) (`tessera cluster up` makes one).")
        }
        let backRest = PgBackRest(directory: dataRoot + "/pgbackrest", executable: executable, runAs: try OSUser.forPostgres(), logger: self.logger)
        guard FileManager.default.fileExists(atPath: backRest.configurationFile) else {
            throw LocalClusterError.commandFailed("The cluster in \(self.configuration.directory) keeps no backups (it was started without a WAL archive).")
        }
        return (backRest, password)
    }
}
