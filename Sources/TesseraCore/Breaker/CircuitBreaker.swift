/// A circuit breaker for one node, as a pure state machine: the driver tells it the
/// time and the outcome of each call, and asks whether to send the next one.
///
/// `failureThreshold` consecutive failures open it; while open, calls go elsewhere.
/// After `coolDown` one probe is let through (half-open): its success closes the
/// breaker, its failure opens it for another cool-down.
package struct CircuitBreaker<Instant: InstantProtocol>: Sendable where Instant: Sendable, Instant.Duration == Duration {
    package struct Configuration: Sendable {
        package var failureThreshold: Int
        package var coolDown: Duration

        package init(failureThreshold: Int = 5, coolDown: Duration = .seconds(5)) {
            self.failureThreshold = failureThreshold
            self.coolDown = coolDown
        }
    }

    package enum State: Sendable, Equatable {
        case closed(consecutiveFailures: Int)
        case open(until: Instant)
        /// One probe is out; everything else waits for its outcome.
        case halfOpen
    }

    package enum Decision: Sendable, Equatable {
        case allow
        /// Allowed as the half-open probe: report its outcome.
        case probe
        case reject
    }

    package let configuration: Configuration
    package private(set) var state: State = .closed(consecutiveFailures: 0)

    package init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    package var isOpen: Bool {
        if case .closed = self.state { return false }
        return true
    }

    /// Whether a call may go to this node now.
    package mutating func decide(now: Instant) -> Decision {
        switch self.state {
        case .closed:
            return .allow
        case .open(let until):
            guard now >= until else { return .reject }
            self.state = .halfOpen
            return .probe
        case .halfOpen:
            return .reject
        }
    }

    package mutating func recordSuccess() {
        self.state = .closed(consecutiveFailures: 0)
    }

    package mutating func recordFailure(now: Instant) {
        switch self.state {
        case .closed(let failures):
            let count = failures + 1
            self.state =
                count >= self.configuration.failureThreshold
                ? .open(until: now.advanced(by: self.configuration.coolDown))
                : .closed(consecutiveFailures: count)
        case .halfOpen, .open:
            self.state = .open(until: now.advanced(by: self.configuration.coolDown))
        }
    }
}
