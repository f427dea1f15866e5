import TesseraCore
import Testing

/// The breaker driven by hand-made instants: no waiting, no server.
@Suite struct CircuitBreakerTests {
    typealias Breaker = CircuitBreaker<ContinuousClock.Instant>
    let start = ContinuousClock.now

    @Test func fiveConsecutiveFailuresOpenIt() {
        var breaker = Breaker(configuration: .init(failureThreshold: 5, coolDown: .seconds(10)))
        for failure in 1...4 {
            breaker.recordFailure(now: self.start)
            #expect(breaker.state == .closed(consecutiveFailures: failure))
            #expect(breaker.decide(now: self.start) == .allow)
        }
        breaker.recordFailure(now: self.start)
        #expect(breaker.isOpen)
        #expect(breaker.decide(now: self.start + .seconds(9)) == .reject)
    }

    @Test func aSuccessResetsTheCount() {
        var breaker = Breaker(configuration: .init(failureThreshold: 5))
        for _ in 1...4 { breaker.recordFailure(now: self.start) }
        breaker.recordSuccess()
        for _ in 1...4 { breaker.recordFailure(now: self.start) }
        #expect(!breaker.isOpen)
    }

    @Test func afterTheCoolDownOneProbeIsLetThroughAndItsSuccessCloses() {
        var breaker = Breaker(configuration: .init(failureThreshold: 1, coolDown: .seconds(5)))
        breaker.recordFailure(now: self.start)
        #expect(breaker.decide(now: self.start + .seconds(4)) == .reject)
        #expect(breaker.decide(now: self.start + .seconds(5)) == .probe)
        #expect(breaker.state == .halfOpen)
        // Only one probe at a time.
        #expect(breaker.decide(now: self.start + .seconds(5)) == .reject)
        breaker.recordSuccess()
        #expect(breaker.state == .closed(consecutiveFailures: 0))
        #expect(breaker.decide(now: self.start + .seconds(5)) == .allow)
    }

    @Test func aFailedProbeOpensItForAnotherCoolDown() {
        var breaker = Breaker(configuration: .init(failureThreshold: 1, coolDown: .seconds(5)))
        breaker.recordFailure(now: self.start)
        #expect(breaker.decide(now: self.start + .seconds(6)) == .probe)
        breaker.recordFailure(now: self.start + .seconds(6))
        #expect(breaker.state == .open(until: self.start + .seconds(11)))
        #expect(breaker.decide(now: self.start + .seconds(10)) == .reject)
        #expect(breaker.decide(now: self.start + .seconds(11)) == .probe)
    }
}
