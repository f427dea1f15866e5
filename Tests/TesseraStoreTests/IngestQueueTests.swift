import NIOCore
import TesseraCore
import Testing

@testable import TesseraStore

/// The write queue's admission and fairness, as a pure state machine.
@Suite struct IngestQueueTests {
    typealias Queue = IngestQueue<String>

    @Test func aTenantPastItsShareGets429WhileOthersAreAdmitted() {
        var queue = Queue(limits: .init(maxPoints: 1_000, maxBytes: 1 << 30, tenantShare: 0.4))
        #expect(queue.admit(tenant: 1, points: 300, bytes: 10) == .admitted)
        #expect(queue.admit(tenant: 1, points: 200, bytes: 10) == .overTenantShare)
        #expect(queue.admit(tenant: 2, points: 300, bytes: 10) == .admitted)
        #expect(queue.admit(tenant: 3, points: 300, bytes: 10) == .admitted)
        // Full: a tenant within its share gets 503.
        #expect(queue.admit(tenant: 4, points: 200, bytes: 10) == .saturated)
        queue.release(tenant: 1, points: 300, bytes: 10)
        #expect(queue.admit(tenant: 4, points: 200, bytes: 10) == .admitted)
        #expect(queue.heldPoints == 1_100 - 300)
    }

    @Test func aFullQueueRefusesNewRequestsUpFrontUntilItHasDrainedToNinetyPercent() {
        var queue = Queue(limits: .init(maxPoints: 1_000, maxBytes: 1 << 30, tenantShare: 1))
        #expect(queue.admit(tenant: 1, points: 950, bytes: 10) == .admitted)
        #expect(queue.precheck(tenant: 2) == .admitted)
        #expect(queue.admit(tenant: 2, points: 100, bytes: 10) == .saturated)
        // Remembered for every tenant, even one whose points would fit.
        #expect(queue.precheck(tenant: 3) == .saturated)
        #expect(queue.admit(tenant: 3, points: 10, bytes: 10) == .admitted)  // a request already read still fits
        queue.release(tenant: 1, points: 50, bytes: 1)  // 910 held: above 900
        #expect(queue.precheck(tenant: 2) == .saturated)
        queue.release(tenant: 1, points: 10, bytes: 1)  // 900 held
        #expect(queue.precheck(tenant: 2) == .admitted)
    }

    @Test func aRefusalBelowNinetyPercentIsNotRemembered() {
        // A request larger than the room left refuses only itself while the queue is
        // mostly empty: the next small one is read.
        var queue = Queue(limits: .init(maxPoints: 1_000, maxBytes: 1 << 30, tenantShare: 1))
        #expect(queue.admit(tenant: 1, points: 500, bytes: 10) == .admitted)
        #expect(queue.admit(tenant: 2, points: 600, bytes: 10) == .saturated)
        #expect(queue.precheck(tenant: 2) == .admitted)
    }

    @Test func aTenantOverItsShareIsRefusedUpFrontUntilItsShareHasDrained() {
        var queue = Queue(limits: .init(maxPoints: 1_000, maxBytes: 1 << 30, tenantShare: 0.5))
        #expect(queue.admit(tenant: 1, points: 480, bytes: 10) == .admitted)
        #expect(queue.admit(tenant: 1, points: 100, bytes: 10) == .overTenantShare)
        #expect(queue.precheck(tenant: 1) == .overTenantShare)
        #expect(queue.precheck(tenant: 2) == .admitted)  // others go on
        queue.release(tenant: 1, points: 30, bytes: 1)  // 450 held: 90% of its 500
        #expect(queue.precheck(tenant: 1) == .admitted)
    }

    @Test func bytesAreBoundedToo() {
        var queue = Queue(limits: .init(maxPoints: 1_000_000, maxBytes: 1_000, tenantShare: 1))
        #expect(queue.admit(tenant: 1, points: 1, bytes: 900) == .admitted)
        #expect(queue.admit(tenant: 2, points: 1, bytes: 200) == .saturated)
    }

    @Test func groupsVisitTenantsInTurnSoASmallTenantIsNotStuckBehindABigOne() {
        var queue = Queue(limits: .init(maxPoints: 1_000_000, maxBytes: 1 << 30, tenantShare: 1, quantum: 1_000))
        for index in 0..<50 {
            queue.enqueue(.init(tenant: 1, points: 1_000, bytes: 1, item: "big-\(index)"))
        }
        queue.enqueue(.init(tenant: 2, points: 10, bytes: 1, item: "small"))
        let first = queue.nextGroup(maxPoints: 5_000)
        // The small tenant's entry is taken in the first round, right after one quantum of the big one.
        #expect(first.map(\.item).prefix(2) == ["big-0", "small"])
        #expect(first.reduce(0) { $0 + $1.points } <= 5_010)
        var drained = first.count
        while true {
            let group = queue.nextGroup(maxPoints: 5_000)
            if group.isEmpty { break }
            drained += group.count
        }
        #expect(drained == 51)
        #expect(queue.isEmpty)
    }
}

@Suite struct ReplayLogTests {
    @Test func flushedBatchesAreForgottenAndTheirCapacityReturned() {
        var log = ReplayLog()
        let now = ServiceClock.Instant(offset: .seconds(100))
        log.staged(.init(id: 7, data: .init(), holds: [.init(tenant: 1, points: 5, bytes: 50)], stagedAt: now))
        log.staged(.init(id: 8, data: .init(), holds: [.init(tenant: 2, points: 3, bytes: 30)], stagedAt: now))
        #expect(log.pendingPoints == 8)
        #expect(log.flushed([7, 99]) == [.init(tenant: 1, points: 5, bytes: 50)])
        #expect(log.pendingIDs == [8])
        #expect(log.batches([8]).map(\.id) == [8])
        #expect(log.staged(before: now.advanced(by: .seconds(1))) == [8])
        #expect(log.staged(before: now.advanced(by: .seconds(-1))).isEmpty)
    }

    @Test func aBatchIdStagedTwiceKeepsBothBatchesForReplay() {
        var log = ReplayLog()
        let now = ServiceClock.Instant(offset: .seconds(100))
        log.staged(.init(id: 7, data: ByteBuffer(string: "first\n"), holds: [.init(tenant: 1, points: 5, bytes: 50)], stagedAt: now))
        log.staged(.init(id: 7, data: ByteBuffer(string: "second\n"), holds: [.init(tenant: 2, points: 3, bytes: 30)], stagedAt: now.advanced(by: .seconds(1))))
        #expect(log.contains(7))
        #expect(log.pendingPoints == 8)
        #expect(log.batches([7]).map { String(buffer: $0.data) } == ["first\nsecond\n"])
        #expect(log.staged(before: now.advanced(by: .milliseconds(1))) == [7])
        #expect(log.flushed([7]) == [.init(tenant: 1, points: 5, bytes: 50), .init(tenant: 2, points: 3, bytes: 30)])
        #expect(!log.contains(7))
    }
}
