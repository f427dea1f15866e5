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
package final class StagingLink: Sendable {
    package struct TimedOut: Error, CustomStringConvertible {
        let what: String
        let deadline: Duration
        package var description: String { "\(self.what) did not finish within \(self.deadline)" }
    }

    let configuration: PostgresConnection.Configuration
    let deadline: Duration
    let logger: Logger
    private let current = Mutex<PostgresConnection?>(nil)
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
    package func copy(_ data: ByteBuffer) async throws {
        let connection = try await self.connection()
        let logger = self.logger
        do {
            try await Self.within(self.deadline, "the staging COPY") {
                try await connection.copyFrom(table: "entity_values_ingest", columns: StagingEncoder.columns, logger: logger) { writer in
                    try await writer.write(data)
                }
            }
        } catch {
            self.drop(connection)
            throw error
        }
    }

    /// Closes the connection (on shutdown).
    package func close() async {
        guard let connection = self.current.withLock({ current in defer { current = nil }; return current }) else { return }
        try? await connection.close()
    }

    private func connection() async throws -> PostgresConnection {
        if let open = self.current.withLock({ $0 }), !open.isClosed { return open }
        let configuration = self.configuration
        let logger = self.logger
        let id = Self.nextID.add(1, ordering: .relaxed).oldValue
        let connection = try await Self.within(self.deadline, "connecting for the staging COPY") {
            try await PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration, id: id, logger: logger
            ).get()
        }
        self.current.withLock { $0 = connection }
        return connection
    }

    /// Forgets a connection after a failure and closes it without waiting: a connection
    /// whose COPY hung may not answer a close either.
    private func drop(_ connection: PostgresConnection) {
        self.current.withLock { current in
            if current === connection { current = nil }
        }
        Task { try? await connection.close() }
    }

    /// `operation`'s result, or `TimedOut` after `deadline`; in that case the operation is
    /// cancelled and left behind, and nobody waits for it.
    static func within<T: Sendable>(
        _ deadline: Duration,
        _ what: String,
        _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let race = Race<T>()
        return try await withCheckedThrowingContinuation { continuation in
            race.start(continuation)
            let work = Task {
                do { race.finish(.success(try await operation())) } catch { race.finish(.failure(error)) }
            }
            let timer = Task {
                try await Task.sleep(for: deadline)
                if race.finish(.failure(TimedOut(what: what, deadline: deadline))) { work.cancel() }
            }
            race.onFinish { timer.cancel() }
        }
    }

    /// The first of an operation and its timer to finish resumes the caller.
    private final class Race<T: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<T, any Error>?
            var finished = false
            var cleanup: (@Sendable () -> Void)?
        }

        private let state = Mutex(State())

        func start(_ continuation: CheckedContinuation<T, any Error>) {
            self.state.withLock { $0.continuation = continuation }
        }

        /// Runs `cleanup` once the race is decided (at once if it already is).
        func onFinish(_ cleanup: @escaping @Sendable () -> Void) {
            let runNow = self.state.withLock { state -> Bool in
                if state.finished { return true }
                state.cleanup = cleanup
                return false
            }
            if runNow { cleanup() }
        }

        /// Resumes the caller unless the race was already decided; true if this call decided it.
        @discardableResult
        func finish(_ result: Result<T, any Error>) -> Bool {
            let (continuation, cleanup) = self.state.withLock { state -> (CheckedContinuation<T, any Error>?, (@Sendable () -> Void)?) in
                guard !state.finished else { return (nil, nil) }
                state.finished = true
                defer { state.continuation = nil; state.cleanup = nil }
                return (state.continuation, state.cleanup)
            }
            guard let continuation else { return false }
            continuation.resume(with: result)
            cleanup?()
            return true
        }
    }
}
