import Logging
import PostgresNIO
import TesseraCore

/// The primary's WAL insert position, read after a write committed: a reader that
/// passes it back (`min_lsn`) is served only by a node that has replayed that far.
package enum CommitPosition {
    package static func current(_ primary: PostgresClient, logger: Logger) async throws -> String? {
        let rows = try await primary.liveQuery("SELECT pg_current_wal_insert_lsn()::text", logger: logger)
        for try await text in rows.decode(String.self) {
            return text
        }
        return nil
    }
}
