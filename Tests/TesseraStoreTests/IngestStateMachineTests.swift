import NIOCore
import TesseraCore
import Testing

@testable import TesseraStore

/// The write path's state machine, event by event: no server, no sleep, no clock but
/// the instants the tests pass in.
@Suite struct IngestStateMachineTests {
    struct Request: Sendable, Equatable { var name: String }
    typealias Machine = IngestStateMachine<Request>

    static let configuration = Machine.Configuration(
        maxGroupPoints: 1_000,
        flushInterval: .milliseconds(100),
        idleFlushInterval: .seconds(2),
        lossCheckAge: .seconds(2),
        drainTimeout: .seconds(30)
    )
    static let limits = IngestQueue<Request>.Limits(maxPoints: 1_000, maxBytes: 1 << 20, tenantShare: 0.5, quantum: 100)

    static func at(_ seconds: Double) -> ServiceClock.Instant { .init(offset: .milliseconds(Int64(seconds * 1_000))) }

    func machine() -> Machine { Machine(configuration: Self.configuration, limits: Self.limits, now: Self.at(0)) }

    func submit(_ machine: inout Machine, _ name: String, tenant: Int64 = 1, points: Int = 10) -> Machine.SubmitAction {
        machine.submit(tenant: tenant, points: points, bytes: points * 50, request: Request(name: name))
    }

    func group(_ action: Machine.WriterAction) -> [Machine.Entry]? {
        if case .stage(let group) = action { return group }
        return nil
    }

    func data(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    // MARK: - Admission

    @Test func admissionHoldsCapacityUntilTheFlushIsConfirmed() {
        var machine = self.machine()
        guard case .enqueued(wakeWriter: nil) = self.submit(&machine, "a", points: 300) else {
            Issue.record("not queued")
            return
        }
        #expect(machine.heldPoints == 300)
        let entries = self.group(machine.writerIsFree(0))
        #expect(entries?.map(\.item) == [Request(name: "a")])
        #expect(machine.inFlight == 1)
        // Acknowledged: the capacity stays taken while the batch waits for its flush.
        #expect(machine.staged(entries!, batch: 7, data: self.data("a"), at: Self.at(0.1)) == 300)
        machine.groupDone()
        #expect(machine.inFlight == 0)
        #expect(machine.heldPoints == 300)
        #expect(machine.unflushedPoints == 300)
        #expect(machine.pendingBatchIDs == [7])
        // Its flush seen committed: forgotten, capacity back.
        #expect(machine.flushConfirmed([7]) == 0)
        #expect(machine.heldPoints == 0)
        #expect(machine.pendingBatchIDs.isEmpty)
        #expect(machine.isEmpty)
    }

    @Test func aTenantOverItsShareIsRefusedWhileOthersAreAdmitted() {
        var machine = self.machine()
        guard case .enqueued = self.submit(&machine, "big-1", tenant: 1, points: 400) else {
            Issue.record("refused")
            return
        }
        guard case .refuse(.overTenantShare) = self.submit(&machine, "big-2", tenant: 1, points: 200) else {
            Issue.record("tenant 1 went over its half of the queue")
            return
        }
        guard case .enqueued = self.submit(&machine, "small", tenant: 2, points: 400) else {
            Issue.record("tenant 2 refused")
            return
        }
        // The queue is nearly full: anyone's next request is refused as saturated.
        guard case .refuse(.saturated) = self.submit(&machine, "small-2", tenant: 3, points: 300) else {
            Issue.record("a full queue admitted more")
            return
        }
        #expect(machine.held(by: 1) == 400)
        #expect(machine.held(by: 2) == 400)
        #expect(machine.held(by: 3) == 0)
    }

    @Test func writersTakeTenantsInTurnUpToTheGroupSize() {
        var machine = Machine(
            configuration: .init(
                maxGroupPoints: 250,
                flushInterval: .milliseconds(100),
                idleFlushInterval: .seconds(2),
                lossCheckAge: .seconds(2),
                drainTimeout: .seconds(30)
            ),
            limits: Self.limits,
            now: Self.at(0)
        )
        for index in 0..<4 { _ = self.submit(&machine, "big-\(index)", tenant: 1, points: 100) }
        _ = self.submit(&machine, "small", tenant: 2, points: 100)
        // Tenant 1's quantum (100 points), then tenant 2's, then tenant 1 again.
        #expect(self.group(machine.writerIsFree(0))?.map(\.item.name) == ["big-0", "small", "big-1"])
        #expect(self.group(machine.writerIsFree(1))?.map(\.item.name) == ["big-2", "big-3"])
        #expect(machine.inFlight == 2)
    }

    @Test func aParkedWriterIsWokenByTheNextSubmit() {
        var machine = self.machine()
        guard case .park = machine.writerIsFree(0) else {
            Issue.record("a writer with nothing to do did not park")
            return
        }
        guard case .park = machine.writerIsFree(1) else {
            Issue.record("not parked")
            return
        }
        #expect(machine.parked == [0, 1])
        guard case .enqueued(wakeWriter: let woken?) = self.submit(&machine, "a") else {
            Issue.record("no writer woken")
            return
        }
        #expect(machine.parked.count == 1)
        #expect(self.group(machine.writerIsFree(woken))?.map(\.item.name) == ["a"])
    }

    // MARK: - Failure, quarantine, fence and settle

    @Test func aFailedCopyGivesCapacityBackAndMakesEveryPendingBatchSuspect() {
        var machine = self.machine()
        _ = self.submit(&machine, "ok", tenant: 1, points: 100)
        let first = self.group(machine.writerIsFree(0))!
        _ = machine.staged(first, batch: 1, data: self.data("ok"), at: Self.at(0))
        machine.groupDone()
        _ = self.submit(&machine, "lost", tenant: 2, points: 200)
        let second = self.group(machine.writerIsFree(0))!
        // The staging write failed and settling found it fenced (not committed): a 503, capacity back.
        machine.stagingFailed(second)
        machine.groupDone()
        #expect(machine.held(by: 2) == 0)
        #expect(machine.heldPoints == 100)
        #expect(machine.suspectsLoss)
        // The next loss check looks at every pending batch, however young.
        let check = machine.lossCheck(now: Self.at(0.1))
        #expect(check.candidates == [1])
        machine.lossCheckDone(check)
        #expect(!machine.suspectsLoss)
    }

    @Test func aCopyThatFailedButSettledAsCommittedIsHeldLikeAnyStagedBatch() {
        var machine = self.machine()
        _ = self.submit(&machine, "a", points: 50)
        let entries = self.group(machine.writerIsFree(0))!
        // settle_staged_batch() answered true: acknowledged, held for its flush and for replay.
        #expect(machine.staged(entries, batch: 9, data: self.data("a"), at: Self.at(1)) == 50)
        machine.groupDone()
        #expect(machine.pendingBatchIDs == [9])
        #expect(!machine.suspectsLoss)
    }

    @Test func aSuspicionRaisedDuringALossCheckOutlivesIt() {
        var machine = self.machine()
        machine.flushFailed()
        let check = machine.lossCheck(now: Self.at(1))
        machine.flushFailed()
        machine.lossCheckDone(check)
        #expect(machine.suspectsLoss, "the second failure came after the check read the suspicion")
        machine.lossCheckDone(machine.lossCheck(now: Self.at(2)))
        #expect(!machine.suspectsLoss)
    }

    @Test func aQuarantinedRequestGivesItsCapacityBackAndIsNotHeld() {
        var machine = self.machine()
        _ = self.submit(&machine, "poison", points: 20)
        let entries = self.group(machine.writerIsFree(0))!
        machine.quarantined(entries[0])
        machine.groupDone()
        #expect(machine.heldPoints == 0)
        #expect(machine.pendingBatchIDs.isEmpty)
        #expect(machine.isEmpty)
        #expect(!machine.suspectsLoss)
    }

    // MARK: - Crash and replay

    @Test func aBatchTheDatabaseLostIsReplayedWithItsExactCopyText() {
        var machine = self.machine()
        _ = self.submit(&machine, "a", tenant: 1, points: 30)
        _ = self.submit(&machine, "b", tenant: 2, points: 40)
        let entries = self.group(machine.writerIsFree(0))!
        _ = machine.staged(entries, batch: 42, data: self.data("rows of 42"), at: Self.at(10))
        machine.groupDone()
        // Younger than the loss-check age: not looked for yet.
        #expect(machine.lossCheck(now: Self.at(11)).candidates.isEmpty)
        // Older, and neither staged nor flushed in the database: replayed as it was.
        let check = machine.lossCheck(now: Self.at(12.5))
        #expect(check.candidates == [42])
        let lost = machine.lostBatches(check.candidates)
        #expect(lost.map(\.id) == [42])
        #expect(lost.first?.data == self.data("rows of 42"))
        #expect(lost.first?.holds.map(\.points) == [30, 40])
        machine.replayed(42)
        machine.lossCheckDone(check)
        #expect(machine.replayedBatches == 1)
        // Still held until the replayed batch's flush is seen.
        #expect(machine.heldPoints == 70)
        #expect(machine.flushConfirmed([42]) == 0)
        #expect(machine.heldPoints == 0)
    }

    @Test func aBatchIDStillHeldIsNeverHandedOutAgain() {
        var machine = self.machine()
        #expect(machine.takeBatchID() == .fetchBlock)
        machine.addBatchIDs([12, 10, 11])
        #expect(machine.takeBatchID() == .use(10, skipped: []))
        _ = self.submit(&machine, "a")
        _ = machine.staged(self.group(machine.writerIsFree(0))!, batch: 11, data: self.data("a"), at: Self.at(0))
        machine.groupDone()
        // The sequence went back (a crash lost its WAL record): 11 is still held, skip it.
        #expect(machine.takeBatchID() == .use(12, skipped: [11]))
        #expect(machine.takeBatchID() == .fetchBlock)
    }

    // MARK: - The flusher's schedule

    @Test func theFlusherSleepsThenFlushesWhatIsStaged() {
        var machine = self.machine()
        #expect(machine.flusherNext(now: Self.at(0)) == .sleep(.milliseconds(100), endsOnShutdown: true))
        _ = self.submit(&machine, "a")
        _ = machine.staged(self.group(machine.writerIsFree(0))!, batch: 1, data: self.data("a"), at: Self.at(0.05))
        machine.groupDone()
        #expect(machine.flusherNext(now: Self.at(0.1)) == .flush(prune: false))
        machine.flushSucceeded(pruned: false, at: Self.at(0.12))
        #expect(machine.flusherNext(now: Self.at(0.12)) == .sleep(.milliseconds(100), endsOnShutdown: true))
    }

    @Test func anIdleServerFlushesOnlyEveryIdleInterval() {
        var machine = self.machine()
        var flushes = [Double]()
        var now = 0.0
        while now < 5 {
            switch machine.flusherNext(now: Self.at(now)) {
            case .sleep(let duration, _): now += Double(duration.components.attoseconds) / 1e18 + Double(duration.components.seconds)
            case .flush:
                flushes.append(now)
                machine.flushSucceeded(pruned: false, at: Self.at(now))
            case .stop:
                Issue.record("stopped while running")
                return
            }
        }
        #expect(flushes.count == 2, "flushed at \(flushes)")
        #expect(flushes.allSatisfy { $0 >= 2 })
    }

    @Test func aFailedFlushBacksOffAndPrunesComeEveryMinute() {
        var machine = self.machine()
        _ = machine.flusherNext(now: Self.at(0))
        machine.flushFailed()
        #expect(machine.flusherNext(now: Self.at(0.1)) == .flush(prune: false), "a suspicion is worth a flush even when idle")
        machine.flushFailed()
        // Two failures in a row: twice the backoff of one, on top of the interval.
        #expect(machine.flusherNext(now: Self.at(0.2)) == .sleep(.milliseconds(600), endsOnShutdown: true))
        #expect(machine.flusherNext(now: Self.at(61)) == .flush(prune: true))
        machine.flushSucceeded(pruned: true, at: Self.at(61))
        _ = machine.flusherNext(now: Self.at(61))
        machine.flushFailed()
        #expect(machine.flusherNext(now: Self.at(62)) == .flush(prune: false))
    }

    @Test func failuresInARowBackOffUpToTheCapAndEvenWhileDraining() {
        var machine = self.machine()
        var waits = [Duration]()
        for _ in 0..<8 {
            machine.flushFailed()
            if case .sleep(let duration, _) = machine.flusherNext(now: Self.at(0)) { waits.append(duration) }
            _ = machine.flusherNext(now: Self.at(0))
        }
        // 250 ms doubled each time, capped at 5 s, after the 100 ms interval.
        #expect(waits.map { $0 - .milliseconds(100) } == [250, 500, 1_000, 2_000, 4_000, 5_000, 5_000, 5_000].map { .milliseconds($0) })
        // Draining with a batch unflushed: the backoff still holds, but never past the drain's end.
        machine.restoreUnflushed(batch: 7, data: ByteBuffer(string: "rows"), at: Self.at(1))
        #expect(machine.unflushedBatches.map(\.id) == [7])
        _ = machine.beginDrain(now: Self.at(1))
        machine.flushFailed()
        guard case .sleep(let draining, _) = machine.flusherNext(now: Self.at(1)) else {
            Issue.record("no sleep while draining")
            return
        }
        #expect(draining > .seconds(5))
        #expect(machine.flusherNext(now: Self.at(28)) == .flush(prune: false))
        machine.flushFailed()
        guard case .sleep(let nearTheEnd, _) = machine.flusherNext(now: Self.at(29)) else {
            Issue.record("no sleep near the drain's end")
            return
        }
        #expect(nearTheEnd <= .seconds(2))
        #expect(machine.drainTimeLeft(now: Self.at(29)) == .seconds(2))
    }

    // MARK: - Draining

    @Test func drainingRefusesNewPointsAndFinishesWhatWasAccepted() {
        var machine = self.machine()
        guard case .park = machine.writerIsFree(1) else {
            Issue.record("not parked")
            return
        }
        _ = self.submit(&machine, "queued", points: 10)
        _ = self.submit(&machine, "staged", tenant: 2, points: 20)
        // Writer 1 was woken by the first submit; take "queued" alone is not guaranteed, so stage one group.
        let first = self.group(machine.writerIsFree(0))!
        _ = machine.staged(first, batch: 5, data: self.data("x"), at: Self.at(0))
        machine.groupDone()
        guard case .park = machine.writerIsFree(0) else {
            Issue.record("not parked")
            return
        }
        #expect(machine.beginDrain(now: Self.at(1)) == [0])
        guard case .refuse(.shuttingDown) = self.submit(&machine, "late") else {
            Issue.record("accepted while draining")
            return
        }
        guard case .stop = machine.writerIsFree(0) else {
            Issue.record("a writer went on with an empty queue")
            return
        }
        // The flusher keeps flushing, quickly, until the batch is confirmed.
        #expect(machine.flusherNext(now: Self.at(1)) == .sleep(.milliseconds(20), endsOnShutdown: false))
        #expect(machine.flusherNext(now: Self.at(1.02)) == .flush(prune: false))
        _ = machine.flushConfirmed([5])
        #expect(machine.flusherNext(now: Self.at(1.05)) == .stop(unflushedPoints: 0))
    }

    @Test func aDrainThatCannotFlushGivesUpAfterItsTimeout() {
        var machine = self.machine()
        _ = self.submit(&machine, "a", points: 25)
        _ = machine.staged(self.group(machine.writerIsFree(0))!, batch: 3, data: self.data("a"), at: Self.at(0))
        machine.groupDone()
        _ = machine.beginDrain(now: Self.at(1))
        #expect(machine.beginDrain(now: Self.at(2)).isEmpty, "a second shutdown signal changes nothing")
        _ = machine.flusherNext(now: Self.at(20))
        #expect(machine.flusherNext(now: Self.at(20.1)) == .flush(prune: false))
        machine.flushFailed()
        #expect(machine.flusherNext(now: Self.at(31)) == .stop(unflushedPoints: 25))
    }
}
