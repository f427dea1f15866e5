import Foundation
import TesseraCore
import TesseraStore
import TesseraTestSupport
import Testing

/// The pipeline's schedule is its clock's: on a `TestClock`, nothing is flushed until the
/// test moves the clock past the flush interval, and a graceful shutdown drains on it.
/// Each test has a database of its own: no other pipeline's flusher moves its rows.
@Suite struct PipelineClockTests {
    static let configuration = IngestPipeline.Configuration(writers: 1, flushInterval: .milliseconds(100), idleFlushInterval: .seconds(2))

    @Test func aStagedPointIsFlushedOnlyOnceTheClockPassesTheFlushInterval() async throws {
        let testClock = TestClock()
        try await PipelineHarness.run(configuration: Self.configuration, testClock: testClock) { harness in
            let tenant = try await harness.tenant("clock", attributes: [AttributeDefinition(name: "v", type: .int)])
            let staged = try await harness.submit([PipelineHarness.point("dev-1", "v", 42)], tenant: tenant)
            #expect(!staged.quarantined)

            // Acknowledged, so staged; with the clock standing still (for half a real second)
            // not flushed, however long ago on the real clock.
            #expect(try await harness.stagedPoints(tenant: tenant) == 1)
            try await Task.sleep(for: .milliseconds(500))
            #expect(testClock.elapsed == .zero)
            #expect(try await harness.storedPoints(tenant: tenant) == 0, "flushed while the clock stood still")
            #expect(try await harness.stagedPoints(tenant: tenant) == 1)
            #expect(harness.pipeline.unflushedPoints == 1)

            // The flusher sleeps on the clock for the flush interval: moving the clock by that
            // wakes it. It must be asleep first, so advance whenever it is, for a few real seconds.
            let deadline = ContinuousClock.now + .seconds(5)
            while harness.pipeline.unflushedPoints > 0, ContinuousClock.now < deadline {
                if testClock.sleepers > 0 { testClock.advance(by: .milliseconds(100)) }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(harness.pipeline.unflushedPoints == 0)
            #expect(try await harness.storedPoints(tenant: tenant) == 1)
            #expect(try await harness.stagedPoints(tenant: tenant) == 0)
            // Flushed on the flush interval's schedule, not the idle one's.
            #expect(testClock.elapsed >= .milliseconds(100))
            #expect(testClock.elapsed < Self.configuration.idleFlushInterval, "flushed only after \(testClock.elapsed) on the clock")
        }
    }

    /// The flusher forgets batch records a day old once a minute, as the server's role
    /// (`tessera_app`, which may read and delete them, nothing more); the flush goes on.
    @Test func theMinutelyPruneForgetsDayOldBatchRecordsAndTheFlushGoesOn() async throws {
        let testClock = TestClock()
        try await PipelineHarness.run(configuration: Self.configuration, testClock: testClock) { harness in
            try await harness.client.query("INSERT INTO ingest_flushed_batches (batch_id, flushed_at) VALUES (-1, now() - interval '25 hours')")
            try await harness.client.query("INSERT INTO ingest_fenced_batches (batch_id, fenced_at) VALUES (-2, now() - interval '25 hours')")
            func oldRecords() async throws -> Int {
                let rows = try await harness.client.query(
                    "SELECT (SELECT count(*) FROM ingest_flushed_batches WHERE batch_id = -1) + (SELECT count(*) FROM ingest_fenced_batches WHERE batch_id = -2)"
                )
                for try await count in rows.decode(Int.self) { return count }
                return -1
            }
            #expect(try await oldRecords() == 2)
            let deadline = ContinuousClock.now + .seconds(20)
            while try await oldRecords() > 0, ContinuousClock.now < deadline {
                if testClock.sleepers > 0 { testClock.advance(by: .seconds(1)) }
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(try await oldRecords() == 0, "not pruned after \(testClock.elapsed) on the clock")
            #expect(testClock.elapsed > .seconds(60))

            let tenant = try await harness.tenant("prune", attributes: [AttributeDefinition(name: "v", type: .int)])
            _ = try await harness.submit([PipelineHarness.point("dev-1", "v", 7)], tenant: tenant)
            let flushDeadline = ContinuousClock.now + .seconds(10)
            while harness.pipeline.unflushedPoints > 0, ContinuousClock.now < flushDeadline {
                if testClock.sleepers > 0 { testClock.advance(by: .milliseconds(100)) }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(try await harness.storedPoints(tenant: tenant) == 1)
        }
    }

    @Test func aGracefulShutdownFlushesWhatWasStagedBeforeRunReturns() async throws {
        let testClock = TestClock()
        // A drain that timed out would end `run()` with the point unflushed: give it 1 s of the clock.
        let drainTimeout = Duration.seconds(1)
        var configuration = Self.configuration
        configuration.drainTimeout = drainTimeout
        try await PipelineHarness.run(configuration: configuration, testClock: testClock) { [configuration] harness in
            let tenant = try await harness.tenant("drain", attributes: [AttributeDefinition(name: "v", type: .int)])
            try await harness.submit([PipelineHarness.point("dev-1", "v", 7)], tenant: tenant)
            #expect(try await harness.stagedPoints(tenant: tenant) == 1)
            #expect(try await harness.storedPoints(tenant: tenant) == 0)
            #expect(testClock.elapsed == .zero)

            // Returns once the pipeline's `run()` has; it moves the clock 20 ms at a time, and
            // only while something sleeps on it (the drain's polls).
            try await harness.stop()
            #expect(harness.pipeline.unflushedPoints == 0)
            #expect(try await harness.storedPoints(tenant: tenant) == 1, "run() returned with the staged point not flushed")
            #expect(try await harness.stagedPoints(tenant: tenant) == 0)
            // Drained, not given up: the clock did not reach the drain timeout.
            #expect(testClock.elapsed < drainTimeout, "the drain took \(testClock.elapsed) on the clock")

            // Draining, then stopped: no more points are taken.
            let refused: TesseraError.Code?
            do throws(TesseraError) {
                try await harness.submit([PipelineHarness.point("dev-1", "v", 8)], tenant: tenant)
                refused = nil
            } catch {
                refused = error.code
            }
            #expect(refused == .unavailable)
        }
    }
}
