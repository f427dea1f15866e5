import TesseraCore

/// When the flusher tells the database how the flush fares (`record_flush_outcome()`, read by
/// `health_check()`): every failure, the first success after failures, and otherwise a
/// success at most every ten seconds, so a busy flusher adds no round trip per flush.
struct FlushOutcomeReport {
    static let successInterval: Duration = .seconds(10)
    private var lastReport: ServiceClock.Instant?
    private var lastFailed = false

    func shouldReportSuccess(now: ServiceClock.Instant) -> Bool {
        guard let lastReport else { return true }
        return self.lastFailed || lastReport.duration(to: now) >= Self.successInterval
    }

    mutating func reported(failed: Bool, at now: ServiceClock.Instant) {
        self.lastReport = now
        self.lastFailed = failed
    }
}
