import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization
import TesseraCore

/// One connection for COPY into the staging table (`synchronous_commit=off`), owned by
/// one writer or by the replay: opened on first use, and again after any failure.
///
/// A COPY or a connect that has not finished within `deadline` is abandoned and its
/// connection closed. When PostgreSQL is killed mid-COPY, the driver does not always
/// answer the COPY (seen in the crash test: a writer and the flusher waited forever on
/// a pool that never reconnected), and a writer that waits forever stops ingest for
/// good; a failed COPY is only a 503 the client retries.
///
/// An abandoned COPY is not necessarily a COPY that failed: PostgreSQL may have its data
/// and commit it after the client gave up. A failure therefore names the backend that ran
/// it (`CopyFailure.backendPID`), so the caller can end that backend and look whether the
/// batch was committed before answering (`IngestPipeline`).
package final class StagingLink: Sendable {
    /// A COPY that did not report success, and the server process that ran it (nil when
    /// no connection was open, so no COPY reached PostgreSQL).
    package struct CopyFailure: Error, CustomStringConvertible {
        package var backendPID: Int32?
        package var underlying: any Error
        package var description: String {
            "staging COPY failed (backend \(self.backendPID.map(String.init) ?? "none")): \(String(reflecting: self.underlying))"
        }
    }

    let configuration: PostgresConnection.Configuration
    let deadline: Duration
    let logger: Logger
    private let current = Mutex<(connection: PostgresConnection, backendPID: Int32)?>(nil)
    private static let nextID = Atomic<Int>(1)

    package init(url: DatabaseURL, deadline: Duration = .seconds(30), logger: Logger) throws {
        let tls: PostgresConnection.Configuration.TLS = switch url.tls {
        case .disable: .disable
        case .prefer: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        var configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: tls
        )
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.additionalStartupParameters = [("synchronous_commit", "off")]
        self.configuration = configuration
        self.deadline = deadline
        self.logger = logger
    }

    /// COPYs `data` (rows in `StagingEncoder`'s text format) into `entity_values_ingest`.
    /// Throws `CopyFailure`.
    package func copy(_ data: ByteBuffer) async throws {
        let (connection, backendPID): (PostgresConnection, Int32)
        do {
            (connection, backendPID) = try await self.connection()
        } catch {
            throw CopyFailure(backendPID: nil, underlying: error)
        }
        let logger = self.logger
        do {
            try await Deadline.run(within: self.deadline, "the staging COPY") {
                try await connection.copyFrom(table: "entity_values_ingest", columns: StagingEncoder.columns, logger: logger) { writer in
                    try await writer.write(data)
                }
            }
        } catch {
            self.drop(connection)
            throw CopyFailure(backendPID: backendPID, underlying: error)
        }
    }

    /// Closes the connection (on shutdown).
    package func close() async {
        guard let open = self.current.withLock({ current in defer { current = nil }; return current }) else { return }
        try? await open.connection.close()
    }

    /// The open connection and its backend's pid, connecting first if there is none.
    private func connection() async throws -> (PostgresConnection, Int32) {
        if let open = self.current.withLock({ $0 }), !open.connection.isClosed { return open }
        let configuration = self.configuration
        let logger = self.logger
        let id = Self.nextID.add(1, ordering: .relaxed).oldValue
        let open = try await Deadline.run(within: self.deadline, "connecting for the staging COPY") {
            let connection = try await PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration, id: id, logger: logger
            ).get()
            do {
                var pid: Int32?
                for try await value in try await connection.query("SELECT pg_backend_pid()", logger: logger).decode(Int32.self) { pid = value }
                guard let pid else { throw TesseraError(.unavailable, "pg_backend_pid() returned no row.") }
                return (connection: connection, backendPID: pid)
            } catch {
                try? await connection.close()
                throw error
            }
        }
        self.current.withLock { $0 = open }
        return (open.connection, open.backendPID)
    }

    /// Forgets a connection after a failure and closes it without waiting: a connection
    /// whose COPY hung may not answer a close either.
    private func drop(_ connection: PostgresConnection) {
        self.current.withLock { current in
            if current?.connection === connection { current = nil }
        }
        Task { try? await connection.close() }
    }
}
