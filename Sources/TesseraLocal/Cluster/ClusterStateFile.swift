import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `<dir>/cluster.json`: what `up` set up, so `down`, `status` and the next `up` find it.
/// Holds the local superuser's, the server role's and Redis' passwords, so it is written with mode 0600.
struct ClusterStateFile {
    struct State: Codable {
        var dataRoot: String?
        /// The PostgreSQL superuser's.
        var password: String?
        /// `tessera_app`'s, the role the server connects as.
        var appPassword: String?
        /// Redis' `requirepass`.
        var redisPassword: String?
        var components: [String: Component] = [:]
    }

    struct Component: Codable {
        var kind: String
        var role: String
        var port: Int
        var dataDirectory: String
        var logFile: String
        /// A second port: a Patroni node's REST API, etcd's peer port.
        var restPort: Int? = nil
    }

    let directory: String

    var path: String { self.directory + "/cluster.json" }

    func load() throws -> State {
        guard let data = FileManager.default.contents(atPath: self.path) else { return State() }
        return try JSONDecoder().decode(State.self, from: data)
    }

    func save(_ state: State) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(state)
        let temporary = self.path + ".tmp"
        FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600])
        guard rename(temporary, self.path) == 0 else {
            throw LocalClusterError.commandFailed("Could not write \(self.path): \(String(cString: strerror(errno)))")
        }
    }
}
