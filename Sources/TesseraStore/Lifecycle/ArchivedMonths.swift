import Logging
import PostgresNIO
import Synchronization
import TesseraCore

/// The months archived to cold storage (or being archived), as a server knows them: read from
/// `archived_months` (migration 0022) at most every `ttl`, so ingest can refuse a month's
/// points and a read say that it reaches one. A failed read keeps the last known set.
package final class ArchivedMonths: Sendable {
    let client: PostgresClient
    let ttl: Duration
    let logger: Logger
    private let state = Mutex<(months: Set<Int>, loadedAt: ContinuousClock.Instant?)>(([], nil))

    package init(client: PostgresClient, ttl: Duration = .seconds(5), logger: Logger) {
        self.client = client
        self.ttl = ttl
        self.logger = logger
    }

    /// year × 12 + month − 1 of a time in microseconds (UTC).
    package static func monthIndex(_ micros: Int64) -> Int {
        let (year, month, _) = Timestamps.civilFromDays(Int(Timestamps.floorDivide(micros, 86_400_000_000)))
        return year * 12 + month - 1
    }

    /// The first instant (UTC, microseconds) of a month index.
    package static func start(_ month: Int) -> Int64 {
        Int64(Timestamps.daysFromCivil(year: month / 12, month: month % 12 + 1, day: 1)) * 86_400_000_000
    }

    /// "YYYY-MM" of a month index.
    package static func label(_ month: Int) -> String {
        let year = String(month / 12)
        let number = String(month % 12 + 1)
        return String(repeating: "0", count: max(0, 4 - year.count)) + year + "-" + (number.count == 1 ? "0" : "") + number
    }

    /// The archived month indexes, refreshed when older than the TTL.
    package func current() async -> Set<Int> {
        let now = ContinuousClock.now
        let cached = self.state.withLock { state -> Set<Int>? in
            guard let loadedAt = state.loadedAt, now - loadedAt < self.ttl else { return nil }
            return state.months
        }
        if let cached { return cached }
        do {
            let rows = try await self.client.liveQuery(
                "SELECT extract(year FROM month)::integer, extract(month FROM month)::integer FROM archived_months",
                logger: self.logger
            )
            var months = Set<Int>()
            for try await (year, month) in rows.decode((Int, Int).self) { months.insert(year * 12 + month - 1) }
            let loaded = months
            self.state.withLock { $0 = (loaded, now) }
            return loaded
        } catch {
            self.logger.warning("Could not read the archived months; using the last known", metadata: ["error": "\(String(reflecting: error))"])
            return self.state.withLock { $0.months }
        }
    }

    /// The archived months that `[from, to)` reaches (nil: open on that side), oldest first, as "YYYY-MM".
    package func reached(from: Int64?, to: Int64?) async -> [String] {
        let months = await self.current()
        guard !months.isEmpty else { return [] }
        let first = from.map(Self.monthIndex) ?? Int.min
        // `to` is exclusive: a range ending at a month's first instant does not reach that month.
        let last = to.map { Self.monthIndex($0 - 1) } ?? Int.max
        return months.filter { $0 >= first && $0 <= last }.sorted().map(Self.label)
    }

    /// Throws 410 `archived` when an erasure of `[from, to)` (nil: open) would miss points in
    /// archived months: a file an erasure cannot reach, which a restore would bring back.
    package func refuseErasure(from: Int64?, to: Int64?) async throws(TesseraError) {
        let months = await self.reached(from: from, to: to)
        guard !months.isEmpty else { return }
        throw TesseraError(
            .archived,
            "Points in months archived to cold storage cannot be erased there, and the erasure reaches \(months.joined(separator: ", ")). "
                + "An operator restores them first (`tessera archive restore \(months[0])`), then the erasure is run again."
        )
    }

    /// The refusal for a read that reaches archived months.
    package static func refusal(_ months: [String]) -> TesseraError {
        TesseraError(
            .archived,
            "The range reaches months archived to cold storage: \(months.joined(separator: ", ")). "
                + "An operator brings a month back with `tessera archive restore \(months.first ?? "YYYY-MM")`."
        )
    }
}
