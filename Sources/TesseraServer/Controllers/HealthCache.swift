import Logging
import PostgresNIO
import Synchronization
import TesseraStore

/// `health_check()` as `/readyz` shows it, read at most every `maxAge` (an orchestrator
/// may poll every second; the checks scan the staging table).
final class HealthCache: Sendable {
    let client: PostgresClient
    let maxAge: Duration
    private let last = Mutex<(report: HealthReport, at: ContinuousClock.Instant)?>(nil)

    init(client: PostgresClient, maxAge: Duration = .seconds(5)) {
        self.client = client
        self.maxAge = maxAge
    }

    /// The latest report, or nil when the checks could not be read.
    func report(logger: Logger) async -> HealthReport? {
        let now = ContinuousClock.now
        if let last = self.last.withLock({ $0 }), last.at.duration(to: now) < self.maxAge { return last.report }
        do {
            let report = try await HealthReport.read(from: self.client, logger: logger)
            self.last.withLock { $0 = (report, now) }
            return report
        } catch {
            logger.warning("health_check() failed", metadata: ["error": "\(String(reflecting: error))"])
            return nil
        }
    }
}
