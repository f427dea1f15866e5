import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization
import TesseraCore

/// One connection for staging writes (`synchronous_commit=off`), owned by one writer or by
/// the replay: opened on first use, and again after any failure. A batch is staged by one
/// INSERT of its rows as a single parameter (`StagedPoints`), not a COPY: PostgresNIO traps
/// on a COPY whose connection is lost mid-transfer.
///
/// A write or a connect that has not finished within `deadline` is abandoned and its
/// connection closed. When PostgreSQL is killed mid-write, the driver does not always
/// answer (seen in the crash test: a writer and the flusher waited forever on a pool that
/// never reconnected), and a writer that waits forever stops ingest for good; a failed
/// write is only a 503 the client retries.
///
/// An abandoned write is not necessarily one that failed: PostgreSQL may hold its rows and
/// commit them after the client gave up. A failure says whether the write was sent
/// (`Failure.sent`), so the caller settles the batch before answering
/// (`IngestPipeline.settle`).
package final class StagingLink: Sendable {
    /// A staging write that did not report success; `sent` when it may have reached
    /// PostgreSQL (false when no connection could be opened).
    package struct Failure: Error, CustomStringConvertible {
        package var sent: Bool
        package var underlying: any Error
        package var description: String { "staging write failed\(self.sent ? "" : " before it was sent"): \(String(reflecting: self.underlying))" }
    }

    let configuration: PostgresConnection.Configuration
    /// Behind a transaction pooler: each write runs in a transaction that sets what a direct
    /// connection sets once at startup (two more round trips a batch).
    let pooled: Bool
    let deadline: Duration
    let logger: Logger
    private let current = Mutex<PostgresConnection?>(nil)
    private let types = StagedPoints.TypeCache()
    private static let nextID = Atomic<Int>(1)

    package init(url: DatabaseURL, deadline: Duration = .seconds(30), logger: Logger) throws {
        var configuration = try PostgresConnection.Configuration(url: url)
        // A write PostgreSQL still runs ten minutes on is cancelled there: one the server
        // gave up on cannot commit after its batch's fence is pruned (IngestPipeline.settle).
        // A transaction pooler refuses both settings at startup, and would leave them on a
        // server connection others share: there each write sets them in its own transaction.
        self.pooled = url.pooling == .transaction
        configuration.options.additionalStartupParameters =
            self.pooled
            ? [("application_name", "tessera/staging")]
            : [("synchronous_commit", "off"), ("statement_timeout", "600000"), ("application_name", "tessera/staging")]
        self.configuration = configuration
        self.deadline = deadline
        self.logger = logger
    }

    /// Stages `data` (rows in `StagingEncoder`'s text format) into `entity_values_ingest`.
    /// Throws `Failure`.
    package func stage(_ data: ByteBuffer) async throws {
        let connection: PostgresConnection
        do {
            connection = try await self.connection()
        } catch {
            throw Failure(sent: false, underlying: error)
        }
        let logger = self.logger
        do {
            let pooled = self.pooled
            let types = self.types
            // Ended at once when the connection closes (a statement written to a closed
            // connection is never answered: PostgresClient+Live.swift), else at the deadline.
            try await Deadline.run(within: self.deadline, "the staging write") {
                try await connection.whileOpen { try await Self.stage(data, on: connection, pooled: pooled, types: types, logger: logger) }
            }
        } catch {
            self.drop(connection)
            throw Failure(sent: true, underlying: error)
        }
    }

    /// The INSERT itself (behind a transaction pooler, in a transaction of its own).
    private static func stage(
        _ data: ByteBuffer,
        on connection: PostgresConnection,
        pooled: Bool,
        types: StagedPoints.TypeCache,
        logger: Logger
    ) async throws {
        if pooled {
            try await connection.query("BEGIN", logger: logger)
            try await connection.query(StagingSQL.pooledStagingSettings, logger: logger)
        }
        try await StagedPoints.insert(data, on: connection, cache: types, logger: logger)
        if pooled { try await connection.query("COMMIT", logger: logger) }
    }

    /// Closes the connection (on shutdown).
    package func close() async {
        guard
            let connection = self.current.withLock({ current in
                defer { current = nil }
                return current
            })
        else { return }
        try? await connection.close()
    }

    private func connection() async throws -> PostgresConnection {
        if let open = self.current.withLock({ $0 }), !open.isClosed { return open }
        let configuration = self.configuration
        let logger = self.logger
        let id = Self.nextID.add(1, ordering: .relaxed).oldValue
        let connection = try await Deadline.run(within: self.deadline, "connecting for the staging write") {
            try await PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.any(),
                configuration: configuration,
                id: id,
                logger: logger
            ).get()
        }
        self.current.withLock { $0 = connection }
        return connection
    }

    /// Forgets a connection after a failure and closes it without waiting: a connection
    /// whose write hung may not answer a close either.
    private func drop(_ connection: PostgresConnection) {
        self.current.withLock { current in
            if current === connection { current = nil }
        }
        Task { try? await connection.close() }
    }
}
