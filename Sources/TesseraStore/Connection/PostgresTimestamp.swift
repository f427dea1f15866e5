import NIOCore
import PostgresNIO

/// A point's time bound as a typed `timestamptz` parameter (binary, microseconds since
/// 2000-01-01 UTC, exact), not as text cast in the statement.
///
/// It decides how a read over the partitioned tables is planned. A text parameter cast with
/// `$4::timestamptz` is a call of a stable function, which the planner cannot use to prune
/// partitions: it plans the index scans of every monthly partition, and the executor then
/// removes all but one or two ("Subplans Removed"). A typed parameter is a constant in the
/// custom plan of an unnamed statement, so only the months the bounds reach are planned
/// (BENCHMARKS.md, "Reads planned for the months they reach").
package struct PostgresTimestamp: PostgresNonThrowingEncodable, Sendable, Equatable {
    /// Microseconds since 1970-01-01 UTC.
    package var micros: Int64

    package init(micros: Int64) {
        self.micros = micros
    }

    /// Microseconds between 1970-01-01 and PostgreSQL's epoch, 2000-01-01 (UTC).
    static let postgresEpochMicros: Int64 = 946_684_800_000_000

    package static var psqlType: PostgresDataType { .timestamptz }
    package static var psqlFormat: PostgresFormat { .binary }

    package func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        // Never traps: a time past the representable range is sent as PostgreSQL's -infinity.
        let (stored, overflow) = self.micros.subtractingReportingOverflow(Self.postgresEpochMicros)
        byteBuffer.writeInteger(overflow ? Int64.min : stored, as: Int64.self)
    }
}

extension PostgresTimestamp: PostgresDecodable {
    /// A `timestamptz` (or `timestamp`) cell in binary: read as it is stored, with no
    /// `extract(epoch …)` in the statement (numeric arithmetic on every row of a series page).
    package init<JSONDecoder: PostgresJSONDecoder>(
        from buffer: inout ByteBuffer,
        type: PostgresDataType,
        format: PostgresFormat,
        context: PostgresDecodingContext<JSONDecoder>
    ) throws {
        guard format == .binary, type == .timestamptz || type == .timestamp, let stored = buffer.readInteger(as: Int64.self) else {
            throw PostgresDecodingError.Code.typeMismatch
        }
        // `infinity` is Int64.max as stored: no time in microseconds since 1970; refused, not trapped on.
        let (micros, overflow) = stored.addingReportingOverflow(Self.postgresEpochMicros)
        guard !overflow else { throw PostgresDecodingError.Code.failure }
        self.init(micros: micros)
    }
}
