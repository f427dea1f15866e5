import Logging
import PostgresNIO
import TesseraCore

/// The pool's calls, each ended with an error as soon as its connection closes.
///
/// PostgresNIO never answers a statement written to a connection that has already closed
/// (its handlers are gone and the write's promise is nil): a connection that dies between
/// two statements of a transaction, or that the pool lends in the moment it closes, held
/// the caller, its lease, and so the pool's shutdown, forever. Seen in the failover drill:
/// a `safe` write waited past its client's 60 s in its staging write after the primary was killed,
/// and the server's shutdown ran into its bound. Every statement the server sends through
/// a pool goes through these.
extension PostgresClient {
    /// `query`, its rows fetched before it returns (every caller reads them all).
    @discardableResult
    package func liveQuery(
        _ query: PostgresQuery,
        logger: Logger,
        file: String = #fileID,
        line: Int = #line
    ) async throws -> FetchedRows {
        try await self.withLiveConnection { connection in
            FetchedRows(rows: try await connection.query(query, logger: logger, file: file, line: line).collect())
        }
    }

    /// `withConnection`, ended with `Deadline.Abandoned` when the connection closes.
    package func withLiveConnection<Value: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Value
    ) async throws -> Value {
        try await self.withConnection { connection in
            try await connection.whileOpen { try await body(connection) }
        }
    }

    /// `withTransaction`, ended with `Deadline.Abandoned` when the connection closes.
    package func withLiveTransaction<Value: Sendable>(
        logger: Logger,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Value
    ) async throws -> Value {
        try await self.withLiveConnection { connection in
            try await connection.withTransaction(logger: logger) { try await body($0) }
        }
    }
}

extension PostgresConnection {
    /// `operation` on this connection, ended with `Deadline.Abandoned` when it closes.
    package func whileOpen<Value: Sendable>(_ operation: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let closed = self.closeFuture
        return try await Deadline.run(
            "a statement on connection \(self.id)",
            abandonedWhen: { signal in closed.whenComplete { _ in signal("the connection closed") } },
            operation
        )
    }
}

/// A statement's rows, all fetched: read as a `PostgresRowSequence` is.
package struct FetchedRows: AsyncSequence, Sendable {
    package typealias Element = PostgresRow
    package let rows: [PostgresRow]

    package struct AsyncIterator: AsyncIteratorProtocol {
        var base: IndexingIterator<[PostgresRow]>
        package mutating func next() async -> PostgresRow? { self.base.next() }
    }

    package func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: self.rows.makeIterator()) }

    /// Each row decoded as `columnType`, as `PostgresRowSequence.decode` does.
    package func decode<each Column: PostgresDecodable>(
        _ columnType: (repeat each Column).Type,
        file: String = #fileID,
        line: Int = #line
    ) -> AsyncThrowingMapSequence<FetchedRows, (repeat each Column)> {
        self.map { row in try row.decode(columnType, file: file, line: line) }
    }

    /// The rows (`async throws` as `PostgresRowSequence.collect()` is, so callers read either alike).
    package func collect() async throws -> [PostgresRow] { self.rows }
}

extension Array where Element == PostgresRow {
    /// Each row decoded as `columnType`.
    package func decode<each Column: PostgresDecodable>(
        _ columnType: (repeat each Column).Type,
        file: String = #fileID,
        line: Int = #line
    ) throws -> [(repeat each Column)] {
        try self.map { row in try row.decode(columnType, file: file, line: line) }
    }
}
