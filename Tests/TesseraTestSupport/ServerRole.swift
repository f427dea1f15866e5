import TesseraCore
import TesseraLocal

/// The role a Tessera server connects as in the test clusters: `tessera_app`, under
/// row-level security (migration 0013). Tests give the server `ServerRole.url(for:)`
/// and keep the superuser's URL for what they check behind it.
package enum ServerRole {
    /// `url` (a test cluster's database, as its superuser) as `tessera_app` sees it.
    package static func url(for url: DatabaseURL) -> DatabaseURL {
        guard let password = passwords.withLock({ $0[url.port] }) else {
            preconditionFailure("No test cluster on port \(url.port) registered its server role")
        }
        var server = url
        server.username = "tessera_app"
        server.password = password
        return server
    }

    /// Remembers the server role's password of each PostgreSQL of a test cluster.
    package static func register(_ status: ClusterStatus) {
        for component in status.components where component.kind == "postgresql" || component.kind == "patroni" {
            guard let appURL = component.appURL, let parsed = try? DatabaseURL(parsing: appURL) else { continue }
            passwords.withLock { $0[component.port] = parsed.password }
        }
    }

    private static let passwords = LockedValue<[Int: String]>([:])
}
