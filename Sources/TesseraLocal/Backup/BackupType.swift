/// pgBackRest's kinds of backup: everything, the changes since the last full, or the
/// changes since the last backup of any kind.
package enum BackupType: String, Sendable, CaseIterable {
    case full
    case diff
    case incr
}
