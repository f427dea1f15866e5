import PostgresNIO
import TesseraCore

/// Errors of the store that are about the database itself, not a client's request.
/// Their `description` is safe to print and tells an operator what to do.
package enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An applied migration's file changed since it was applied.
    case checksumMismatch(version: Int, name: String, applied: String, bundled: String)
    /// The database has migrations this build does not know: it is newer than the binary.
    case schemaNewerThanBuild(databaseVersion: Int, buildVersion: Int)
    /// The database is not migrated to this build's schema.
    case notMigrated(databaseVersion: Int, buildVersion: Int)

    package var description: String {
        switch self {
        case .checksumMismatch(let version, let name, let applied, let bundled):
            "Migration \(version) (\(name)) was applied with checksum \(applied.prefix(12))… but this build ships "
                + "\(bundled.prefix(12))…: an applied migration must never be edited. Restore the original file "
                + "and put the change in a new migration. Refusing to start."
        case .schemaNewerThanBuild(let databaseVersion, let buildVersion):
            "The database schema is at version \(databaseVersion), newer than this build's \(buildVersion). "
                + "Run a newer build of tessera. Refusing to start."
        case .notMigrated(let databaseVersion, let buildVersion):
            "The database schema is at version \(databaseVersion); this build needs \(buildVersion). Run `tessera migrate`."
        }
    }
}

/// Turns PostgreSQL errors into domain errors by SQLSTATE.
package enum DatabaseErrors {
    package static func sqlState(of error: any Error) -> String? {
        if let error = error as? PSQLError {
            return error.serverInfo?[.sqlState]
        }
        if let error = error as? PostgresTransactionError {
            return error.closureError.flatMap(self.sqlState) ?? error.commitError.flatMap(self.sqlState)
        }
        return nil
    }

    /// Whether a SQLSTATE says the data was refused rather than the database failing
    /// (`SQLState.refusesData`): the same rows fail the same way again.
    package static func isDataError(_ state: String) -> Bool {
        SQLState(state).refusesData
    }

    /// The error a client should see for a failed store call: domain errors pass through,
    /// known SQLSTATEs become their code, anything else is `unavailable` (the database
    /// failed, not the request).
    package static func clientError(for error: any Error) -> TesseraError {
        if let error = error as? TesseraError { return error }
        if let error = error as? PostgresTransactionError, let inner = error.closureError as? TesseraError {
            return inner
        }
        let state = self.sqlState(of: error) ?? ""
        switch SQLState(state) {
        case .dataException:
            // A value of the request (a bound, a sum of stored values) that PostgreSQL
            // cannot compute with. Retrying would fail the same way.
            return TesseraError(.invalidParameter, "The database cannot compute this with the values given (SQLSTATE \(state), out of its range).")
        case .uniqueViolation: return TesseraError(.duplicate, "It already exists.")
        case .queryCanceled: return TesseraError(.timeout, "The query took too long and was cancelled.")
        case .unavailable: return TesseraError(.unavailable, "The database is unavailable; retry shortly.")
        case .constraintViolation, .programLimit, .recoveryConflict, .other:
            return TesseraError(.unavailable, "The database could not complete the request; retry shortly.")
        }
    }
}
