#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The OS user PostgreSQL runs as: ourselves, or `postgres` when we are root.
struct OSUser: Sendable {
    var name: String
    var uid: uid_t
    var gid: gid_t

    /// nil when we are not root: then everything runs as ourselves.
    static func forPostgres() throws -> OSUser? {
        guard ProcessControl.isRoot else { return nil }
        guard let entry = getpwnam("postgres") else { throw LocalClusterError.noUnprivilegedUser }
        return OSUser(name: "postgres", uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid)
    }

    /// Gives a path we made to this user.
    func own(_ path: String) {
        _ = chown(path, self.uid, self.gid)
    }

    /// Whether this user can reach `path` (every parent searchable).
    func canReach(_ path: String) -> Bool {
        (try? Command(executable: "/usr/bin/test", arguments: ["-x", path], user: self.name).run().status) == 0
    }
}
