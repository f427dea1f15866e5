import PostgresNIO
import TesseraCore
import TesseraStore

/// Single connections of a test's own, beside the pools under test: to hold a lock or a
/// transaction open, or to read what the database holds while a pool is busy.
package enum TestConnection {
    /// Runs `body` on a connection of its own, closed however `body` ends.
    package static func withConnection(_ url: DatabaseURL, _ body: (PostgresConnection) async throws -> Void) async throws {
        let connection = try await self.connect(url, id: 2)
        do {
            try await body(connection)
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }

    /// A connection of its own holding the lock `stage_flush()` takes (waiting for a
    /// flush that runs to commit): no flush moves staged rows until it is closed.
    package static func holdFlushes(_ url: DatabaseURL) async throws -> PostgresConnection {
        let connection = try await self.connect(url, id: 1)
        try await connection.query("SELECT pg_advisory_lock(\(AdvisoryLock.flush))", logger: quietLogger)
        return connection
    }

    /// The first column of the first row `sql` answers (an integer, or NULL), or nil for no row.
    package static func number(_ sql: String, on connection: PostgresConnection) async throws -> Int? {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: quietLogger)
        for try await value in rows.decode(Int?.self) { return value }
        return nil
    }

    static func connect(_ url: DatabaseURL, id: Int) async throws -> PostgresConnection {
        let configuration = PostgresConnection.Configuration(
            host: url.host,
            port: url.port,
            username: url.username,
            password: url.password,
            database: url.database,
            tls: .disable
        )
        return try await PostgresConnection.connect(configuration: configuration, id: id, logger: quietLogger)
    }
}
