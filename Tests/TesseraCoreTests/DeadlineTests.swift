import TesseraCore
import Testing

/// The deadline database calls run under (a staging COPY, a batch id, a test's request):
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
}
