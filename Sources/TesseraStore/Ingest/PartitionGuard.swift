import Logging
import PostgresNIO
import Synchronization
import TesseraCore

/// Makes sure the monthly partition of every row's time exists before the rows are
/// staged, so a flush never fails on a missing partition (there is no DEFAULT one).
/// Backfilled months are created on demand; known months are remembered.
package final class PartitionGuard: Sendable {
    let client: PostgresClient
    let logger: Logger
    private let known = Mutex<Set<Int>>([])

    package init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// year × 12 + month − 1 of a time in microseconds (UTC).
    static func monthIndex(_ micros: Int64) -> Int {
        ArchivedMonths.monthIndex(micros)
    }

    package func ensure(for rows: [IngestRow]) async throws {
        var months = Set<Int>()
        for row in rows { months.insert(Self.monthIndex(row.timestamp)) }
        let missing = self.known.withLock { months.subtracting($0) }
        for month in missing.sorted() {
            let date = zeroPadded(month / 12, width: 4) + "-" + zeroPadded(month % 12 + 1, width: 2) + "-01"
            try await self.client.liveQuery(
                "SELECT ensure_ts_partitions(\(date)::date, 1)",
                logger: self.logger
            )
            _ = self.known.withLock { $0.insert(month) }
        }
    }

    /// Forget what is known (after partitions were dropped).
    package func reset() {
        self.known.withLock { $0.removeAll() }
    }
}

/// `value` in decimal, left-padded with zeros to `width` digits.
func zeroPadded(_ value: Int, width: Int) -> String {
    let text = String(value)
    return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
}
