/// The clock that everything which waits or times out reads (the ingest pipeline's
/// flusher, the breakers, the lag monitor, the caches' TTLs): the continuous clock
/// in production, a test clock that only moves when a test moves it in tests
/// (`TestClock` in TesseraTestSupport). One concrete type, so the services that take
/// it need no generic parameter.
package struct ServiceClock: Clock, Sendable {
    /// A moment of this clock: time since its origin.
    package struct Instant: InstantProtocol, Sendable, Hashable, CustomStringConvertible {
        package var offset: Duration

        package init(offset: Duration) {
            self.offset = offset
        }

        package func advanced(by duration: Duration) -> Instant { Instant(offset: self.offset + duration) }
        package func duration(to other: Instant) -> Duration { other.offset - self.offset }
        package static func < (a: Instant, b: Instant) -> Bool { a.offset < b.offset }
        package var description: String { "T+\(self.offset)" }
    }

    private let source: any ServiceClockSource

    package init(source: any ServiceClockSource) {
        self.source = source
    }

    /// The continuous (monotonic) clock, origin at its first use in this process.
    package static let continuous = ServiceClock(source: ContinuousSource())

    package var now: Instant { Instant(offset: self.source.elapsed) }
    package var minimumResolution: Duration { .nanoseconds(1) }

    package func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        try await self.source.sleep(untilOffset: deadline.offset)
    }

    package func sleep(for duration: Duration) async throws {
        try await self.sleep(until: self.now.advanced(by: duration))
    }
}

/// Where a `ServiceClock` reads the time and waits.
package protocol ServiceClockSource: Sendable {
    /// Time since the source's origin.
    var elapsed: Duration { get }
    /// Returns once `elapsed` reaches `offset`; throws `CancellationError` when cancelled first.
    func sleep(untilOffset offset: Duration) async throws
}

private struct ContinuousSource: ServiceClockSource {
    let origin = ContinuousClock.now

    var elapsed: Duration { ContinuousClock.now - self.origin }

    func sleep(untilOffset offset: Duration) async throws {
        try await ContinuousClock().sleep(until: self.origin + offset)
    }
}
