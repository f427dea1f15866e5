import Synchronization
import TesseraCore
import Testing

/// The deadline database calls run under (a staging write, a batch id, a test's request):
/// a driver call that never answers must not hold its caller forever.
@Suite struct DeadlineTests {
    @Test func anOperationThatNeverAnswersTimesOutAndIsLeftBehind() async throws {
        let started = ContinuousClock.now
        await #expect(throws: Deadline.Exceeded.self) {
            try await Deadline.run(within: .milliseconds(200), "a hung COPY") {
                // Ignores cancellation, like a continuation the driver never resumes.
                await withCheckedContinuation { (_: CheckedContinuation<Void, Never>) in }
            }
        }
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func anOperationThatAnswersInTimeGivesItsResultOrError() async throws {
        let value = try await Deadline.run(within: .seconds(10), "a quick COPY") { 42 }
        #expect(value == 42)
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            try await Deadline.run(within: .seconds(10), "a refused COPY") { throw Refused() }
        }
    }

    @Test func cancellingTheCallerEndsTheWaitAtOnce() async throws {
        let started = ContinuousClock.now
        let waiting = Task {
            try await Deadline.run(within: .seconds(60), "a hung flush") {
                await withCheckedContinuation { (_: CheckedContinuation<Void, Never>) in }
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func anOperationWhoseResourceIsLostEndsWhenTheSignalComes() async throws {
        let started = ContinuousClock.now
        let signals = SignalBox()
        let waiting = Task {
            try await Deadline.run("a statement on a closed connection", abandonedWhen: { signals.store($0) }) {
                // Never answered, and deaf to cancellation: a statement PostgresNIO dropped.
                await withCheckedContinuation { (_: CheckedContinuation<Void, Never>) in }
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        signals.fire("the connection closed")
        await #expect(throws: Deadline.Abandoned.self) { try await waiting.value }
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func anOperationThatFinishesBeforeTheSignalGivesItsResult() async throws {
        let signals = SignalBox()
        let value = try await Deadline.run("a quick statement", abandonedWhen: { signals.store($0) }, { 7 })
        #expect(value == 7)
        // A signal after the answer changes nothing.
        signals.fire("closed later")
    }

    /// Keeps the signal `Deadline.run` registers, to fire it when the test says.
    final class SignalBox: Sendable {
        private let signal = Mutex<(@Sendable (String) -> Void)?>(nil)
        func store(_ signal: @escaping @Sendable (String) -> Void) { self.signal.withLock { $0 = signal } }
        func fire(_ reason: String) { self.signal.withLock { $0 }?(reason) }
    }
}
