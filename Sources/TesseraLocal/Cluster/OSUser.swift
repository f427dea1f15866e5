import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The OS user PostgreSQL runs as: ourselves, or `postgres` when we are root.
package struct OSUser: Sendable {
    package var name: String
    package var uid: uid_t
    package var gid: gid_t

    package init(name: String, uid: uid_t, gid: gid_t) {
        self.name = name
        self.uid = uid
        self.gid = gid
    }

    /// nil when we are not root: then everything runs as ourselves.
    static func forPostgres() throws -> OSUser? {
        guard ProcessControl.isRoot else { return nil }
        guard let entry = getpwnam("postgres") else { throw LocalClusterError.noUnprivilegedUser }
        return OSUser(name: "postgres", uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid)
    }

    /// Gives a path we made to this user.
    package func own(_ path: String) {
        _ = chown(path, self.uid, self.gid)
    }

    /// Whether this user can reach `path` (every parent searchable).
    package func canReach(_ path: String) -> Bool {
        (try? Command(executable: "/usr/bin/test", arguments: ["-x", path], user: self.name).run().status) == 0
    }
}
