import Testing
@testable import TesseraStore

/// The deadline a staging COPY runs under: a driver call that never answers must not
/// hold its writer (and with it all ingest) forever.
@Suite struct StagingLinkTests {
    @Test func anOperationThatNeverAnswersTimesOutAndIsLeftBehind() async throws {
        let started = ContinuousClock.now
        await #expect(throws: StagingLink.TimedOut.self) {
            try await StagingLink.within(.milliseconds(200), "a hung COPY") {
                // Ignores cancellation, like a continuation the driver never resumes.
                await withCheckedContinuation { (_: CheckedContinuation<Void, Never>) in }
            }
        }
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func anOperationThatAnswersInTimeGivesItsResultOrError() async throws {
        let value = try await StagingLink.within(.seconds(10), "a quick COPY") { 42 }
        #expect(value == 42)
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            try await StagingLink.within(.seconds(10), "a refused COPY") { throw Refused() }
        }
    }
}
