/// A tenant's points-per-second allowance, as a state machine with no clock of its
/// own: the caller passes the time. It holds up to one second of tokens; a request
/// takes its points while any token is left (it may go into debt, so a request larger
/// than a second's allowance still passes once), and the next waits until the debt is
/// paid back.
package struct TokenBucket: Sendable, Equatable {
    package private(set) var tokens: Double
    package private(set) var rate: Double
    private var updatedAtNanos: Int64

    package init(rate: Int, nowNanos: Int64) {
        self.rate = Double(max(1, rate))
        self.tokens = self.rate
        self.updatedAtNanos = nowNanos
    }

    package enum Decision: Sendable, Equatable {
        case admitted
        /// Try again after this many seconds (at least 1).
        case retryAfter(seconds: Int)
    }

    /// Takes `points` tokens at `nowNanos`, with the tenant's current `rate`.
    package mutating func take(_ points: Int, rate: Int, nowNanos: Int64) -> Decision {
        self.refill(rate: rate, nowNanos: nowNanos)
        guard self.tokens > 0 else {
            let seconds = (-self.tokens / self.rate).rounded(.up)
            return .retryAfter(seconds: Int(max(1, min(seconds, 3_600))))
        }
        self.tokens -= Double(points)
        return .admitted
    }

    private mutating func refill(rate: Int, nowNanos: Int64) {
        self.rate = Double(max(1, rate))
        let (elapsed, overflow) = nowNanos.subtractingReportingOverflow(self.updatedAtNanos)
        if !overflow, elapsed > 0 {
            self.tokens = min(self.rate, self.tokens + Double(elapsed) / 1e9 * self.rate)
        }
        self.tokens = min(self.tokens, self.rate)
        self.updatedAtNanos = max(self.updatedAtNanos, nowNanos)
    }
}
