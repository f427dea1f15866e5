import ArgumentParser
import Logging
import PostgresNIO
import TesseraCore
import TesseraStore

// The three helpers of `tessera`'s CommonOptions.swift the benchmarks use, copied (they
// present errors to an operator's terminal, which no library module does).

/// Runs `body` with a connected pool, then shuts the pool down; database errors
/// are shown to the operator in full.
func withPostgresClient<T: Sendable>(
    url: DatabaseURL,
    logger: Logger,
    _ body: @escaping @Sendable (PostgresClient) async throws -> T
) async throws -> T {
    do {
        return try await PostgresClient.withRunning(url: url, logger: logger, body)
    } catch let error as PSQLError {
        throw OperatorError(message: "The database refused: \(String(reflecting: error))")
    } catch let error as PostgresTransactionError {
        throw OperatorError(message: "The database refused: \(String(reflecting: error))")
    }
}

/// A failure worth its full detail on the operator's terminal.
struct OperatorError: Error, CustomStringConvertible {
    var message: String
    var description: String { self.message }
}

extension DatabaseURL {
    /// Error text for ArgumentParser from a parse failure.
    static func parsed(_ text: String) throws -> DatabaseURL {
        do { return try DatabaseURL(parsing: text) } catch { throw ValidationError(error.description) }
    }
}
