import Foundation
import Logging
import PostgresNIO

/// One server's claim on a periodic job (`maintenance_leases`, migration 0021): taken for a
/// while and renewed by its holder, so that of many servers one does the work and another
/// takes over once a lease lapses. A table, not a session advisory lock: behind a
/// transaction pooler a session is not kept.
package struct MaintenanceLease: Sendable {
    let client: PostgresClient
    let job: String
    /// This process: host, pid and a random part (two servers in one process differ).
    let holder: String
    let logger: Logger

    package init(client: PostgresClient, job: String, logger: Logger) {
        self.client = client
        self.job = job
        self.holder = "\(ProcessInfo.processInfo.hostName)/\(ProcessInfo.processInfo.processIdentifier)/\(UUID().uuidString.prefix(8))"
        self.logger = logger
    }

    /// Takes or renews the lease for `duration`; false while another server holds it.
    package func take(for duration: Duration) async throws -> Bool {
        let seconds = Int(duration.components.seconds)
        let rows = try await self.client.liveQuery("SELECT take_maintenance_lease(\(self.job), \(self.holder), \(seconds)::integer)", logger: self.logger)
        var taken = false
        for try await value in rows.decode(Bool.self) { taken = value }
        return taken
    }
}
