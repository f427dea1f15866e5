import Logging
import PostgresNIO
import Synchronization
import TesseraCore
import TesseraStore

/// `health_check()` as `/readyz` shows it. A probe never waits on the checks for more than
/// `wait`: they scan the staging table, which is slow exactly when the flush is behind, and
/// an orchestrator's probe times out in a second. They are read again at most every
/// `maxAge`, by one probe at a time (others get the last report), within `deadline`.
final class HealthCache: Sendable {
    private struct State {
        var report: HealthReport?
        var readAt: ContinuousClock.Instant?
        var refreshing = false
    }

    let client: PostgresClient
    let maxAge: Duration
    let wait: Duration
    let deadline: Duration
    private let state = Mutex(State())

    init(client: PostgresClient, maxAge: Duration = .seconds(5), wait: Duration = .milliseconds(500), deadline: Duration = .seconds(10)) {
        self.client = client
        self.maxAge = maxAge
        self.wait = wait
        self.deadline = deadline
    }

    /// The latest report: fresh if it comes within `wait`, else the last one read (nil
    /// before any could be read).
    func report(logger: Logger) async -> HealthReport? {
        let asked = ContinuousClock.now
        let (fresh, refresh) = self.state.withLock { state -> (HealthReport?, Bool) in
            if let readAt = state.readAt, readAt.duration(to: asked) < self.maxAge { return (state.report, false) }
            if state.refreshing { return (nil, false) }
            state.refreshing = true
            return (nil, true)
        }
        if let fresh { return fresh }
        if refresh {
            Task {
                var report: HealthReport?
                do {
                    report = try await Deadline.run(within: self.deadline, "health_check()") {
                        try await HealthReport.read(from: self.client, logger: logger)
                    }
                } catch {
                    logger.warning("health_check() failed", metadata: ["error": "\(String(reflecting: error))"])
                }
                let read = report
                self.state.withLock { state in
                    state.refreshing = false
                    if let read {
                        state.report = read
                        state.readAt = ContinuousClock.now
                    }
                }
            }
        }
        let until = asked + self.wait
        while ContinuousClock.now < until {
            if let report = self.state.withLock({ state in (state.readAt ?? asked) > asked ? state.report : nil }) { return report }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return self.state.withLock { $0.report }
    }
}
