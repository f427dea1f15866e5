import Foundation
import PostgresNIO
import TesseraCore
import TesseraLocal

/// A logical backup of a test database (`pg_dump`, plain SQL, to a file) and its restore
/// into a new database of the test cluster: a copy of the data made before an erasure,
/// read after it.
package enum TestBackup {
    /// Dumps `url`'s database into a file; returns the file's path.
    package static func dump(_ url: DatabaseURL) async throws -> String {
        let file = NSTemporaryDirectory() + "tessera-tests-\(getpid())-backup-\(UUID().uuidString.prefix(8)).sql"
        let installation = try PostgresInstallation.locate()
        try await offloaded {
            try Command(
                executable: installation.tool("pg_dump"),
                arguments: ["-h", url.host, "-p", "\(url.port)", "-U", url.username, "-d", url.database, "-f", file],
                environment: ["PGPASSWORD": url.password ?? "", "PGCONNECT_TIMEOUT": "10"]
            ).check()
        }
        return file
    }

    /// Restores a dump into a new database of the test cluster; returns its URL (the superuser's).
    package static func restore(_ file: String) async throws -> DatabaseURL {
        let url = try await TestCluster.freshDatabase()
        let installation = try PostgresInstallation.locate()
        try await offloaded {
            try Command(
                executable: installation.tool("psql"),
                arguments: ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", url.host, "-p", "\(url.port)", "-U", url.username, "-d", url.database, "-f", file],
                environment: ["PGPASSWORD": url.password ?? "", "PGCONNECT_TIMEOUT": "10"]
            ).check()
        }
        return url
    }
}
