/// How the local cluster archives its WAL and keeps its backups with pgBackRest
/// (README: Data lifecycle and backups).
package struct BackupSettings: Sendable {
    /// The repository's folder; nil: `<data root>/pgbackrest/repo`, beside the cluster's data
    /// (give a path on another disk, or mount, to survive the loss of this one).
    package var repository: String?
    /// `archive_timeout`: the longest a committed transaction's WAL waits before its segment
    /// is archived, so the recovery point objective on a quiet cluster.
    package var archiveTimeoutSeconds: Int
    /// Full backups the repository keeps (with their differentials, incrementals and the
    /// WAL they need); older ones expire after each backup.
    package var fullBackupsKept: Int

    package init(repository: String? = nil, archiveTimeoutSeconds: Int = 60, fullBackupsKept: Int = 2) {
        self.repository = repository
        self.archiveTimeoutSeconds = archiveTimeoutSeconds
        self.fullBackupsKept = fullBackupsKept
    }
}
