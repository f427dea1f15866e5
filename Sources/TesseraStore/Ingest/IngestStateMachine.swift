import NIOCore
import TesseraCore

/// The `fast` write path's whole state, as a value with no I/O, built the way
/// postgres-nio's `PoolStateMachine` is: events go in as method calls, and what the
/// driver (`IngestPipeline`) must do comes out as the return value. The driver runs
/// the SQL and the waiting; nothing here blocks, sleeps or reads a clock.
///
/// Where a request's points are, from admission to flush:
///
/// 1. **admitted**: `submit` took their capacity (points and bytes, counted per tenant)
///    in `queue`, and they wait for a writer (or `submit` refused them: 429, 503);
/// 2. **in flight**: a writer took them in a group (`writerIsFree`) and stages them
///    into the staging table;
/// 3. **staged, not flushed**: acknowledged (`staged`), held in `log` with the exact
///    COPY text and the capacity they took, until a flush of their batch is seen;
/// 4. **flushed**: `flushConfirmed` forgets the batch and gives its capacity back.
///
/// Capacity is given back in exactly three places: `flushConfirmed` (the normal end),
/// `stagingFailed` (a 503: not stored) and `quarantined` (refused by PostgreSQL, kept
/// for an operator). A staged batch that is neither in the staging table nor flushed
/// was lost by the database (crash recovery empties UNLOGGED tables): `lossCheck`
/// names the batches to look for, and `lostBatches` gives back what to stage again.
package struct IngestStateMachine<Request: Sendable>: Sendable {
    package typealias Instant = ServiceClock.Instant
    package typealias Entry = IngestQueue<Request>.Entry

    package struct Configuration: Sendable {
        package var maxGroupPoints: Int
        package var flushInterval: Duration
        package var idleFlushInterval: Duration
        package var lossCheckAge: Duration
        package var drainTimeout: Duration
        /// How often flushed and fenced batch records older than a day are deleted.
        package var pruneInterval: Duration = .seconds(60)
        /// How often a draining flusher looks again.
        package var drainPollInterval: Duration = .milliseconds(20)
        /// Added to the next wait after a failed flush; doubled with each failure in a row,
        /// up to `maxFailureBackoff`, also while draining: a database that is away is asked
        /// again less and less often, not several times a second.
        package var failureBackoff: Duration = .milliseconds(250)
        package var maxFailureBackoff: Duration = .seconds(5)
    }

    /// Why `submit` refused.
    package enum Refusal: Sendable, Equatable {
        /// Draining for shutdown: 503, another server or a retry takes the points.
        case shuttingDown
        /// The tenant holds its share of the queue: 429.
        case overTenantShare
        /// The whole queue is full: 503.
        case saturated

        /// The queue's refusal, or nil when it admits.
        init?(_ admission: IngestQueue<Request>.Admission) {
            switch admission {
            case .overTenantShare: self = .overTenantShare
            case .saturated: self = .saturated
            case .admitted: return nil
            }
        }

        /// Its label in the metrics.
        package var metricReason: String {
            switch self {
            case .shuttingDown: "shutting_down"
            case .overTenantShare: "rate_limited"
            case .saturated: "saturated"
            }
        }
    }

    package enum SubmitAction: Sendable {
        case refuse(Refusal)
        /// Queued; wake this parked writer, if any.
        case enqueued(wakeWriter: Int?)
    }

    package enum WriterAction: Sendable {
        /// Stage these entries (one write), then report each entry's outcome and `groupDone`.
        case stage([Entry])
        /// Nothing to do: park until `submit` or `beginDrain` names this writer.
        case park
        /// Draining and the queue is empty: the writer ends.
        case stop
    }

    package enum BatchIDAction: Sendable, Equatable {
        /// Use this id. `skipped` were handed out by the sequence while still held here
        /// (the sequence went back, e.g. after a crash): log them.
        case use(Int64, skipped: [Int64])
        /// No id left: fetch a block with `nextBatchIDs` and call `addBatchIDs`.
        case fetchBlock
    }

    package enum FlusherAction: Sendable, Equatable {
        /// Wait this long; a wait outside draining ends early on graceful shutdown.
        case sleep(Duration, endsOnShutdown: Bool)
        /// Run one flush, confirm, check for loss; prune old batch records too when `prune`.
        case flush(prune: Bool)
        /// The flusher ends: drained, or the drain timed out with these points unconfirmed.
        case stop(unflushedPoints: Int)
    }

    /// The batches to check for loss, and the suspicion the check answers.
    package struct LossCheck: Sendable, Equatable {
        package var candidates: [Int64]
        package var suspicion: Int
    }

    private enum Lifecycle: Sendable, Equatable {
        case running
        case draining(since: Instant)
    }

    package let configuration: Configuration
    private(set) var queue: IngestQueue<Request>
    private(set) var log = ReplayLog()
    private var lifecycle = Lifecycle.running
    private var parkedWriters: [Int] = []
    /// Groups taken by writers and not yet done.
    package private(set) var inFlight = 0
    /// Batch ids fetched from the sequence and not used yet, smallest last.
    private var batchIDs: [Int64] = []
    /// Raised by every event that may mean the database lost staged rows (a failed staging write
    /// or flush); a loss check of all pending batches answers the suspicion it read.
    private var suspicion = 0
    private var answeredSuspicion = 0
    package private(set) var replayedBatches = 0
    // The flusher's schedule.
    private var flusherSlept = false
    private var backoff = Duration.zero
    private var failuresInARow = 0
    private var lastFlush: Instant
    private var lastPrune: Instant

    package init(configuration: Configuration, limits: IngestQueue<Request>.Limits, now: Instant) {
        self.configuration = configuration
        self.queue = IngestQueue(limits: limits)
        self.lastFlush = now
        self.lastPrune = now
    }

    // MARK: - Admission

    /// A request's points ask for room. Capacity is taken now and held until the points
    /// are flushed, refused or quarantined.
    package mutating func submit(tenant: Int64, points: Int, bytes: Int, request: Request) -> SubmitAction {
        guard self.lifecycle == .running else { return .refuse(.shuttingDown) }
        if let refusal = Refusal(self.queue.admit(tenant: tenant, points: points, bytes: bytes)) { return .refuse(refusal) }
        self.queue.enqueue(Entry(tenant: tenant, points: points, bytes: bytes, item: request))
        return .enqueued(wakeWriter: self.parkedWriters.popLast())
    }

    /// What a new request of `tenant` would be told before its body is read: nil to go
    /// on, or the refusal that a full queue (or share) is remembered to give.
    package func precheck(tenant: Int64) -> Refusal? {
        guard self.lifecycle == .running else { return .shuttingDown }
        return Refusal(self.queue.precheck(tenant: tenant))
    }

    // MARK: - Writers

    /// Writer `writer` is free: its next group, or park, or stop.
    package mutating func writerIsFree(_ writer: Int) -> WriterAction {
        let group = self.queue.nextGroup(maxPoints: self.configuration.maxGroupPoints)
        if !group.isEmpty {
            self.inFlight += 1
            return .stage(group)
        }
        if self.isDraining { return .stop }
        if !self.parkedWriters.contains(writer) { self.parkedWriters.append(writer) }
        return .park
    }

    /// The entries are staged as batch `id` and acknowledged: held until flushed.
    /// Returns the points now staged and not flushed (the backlog).
    package mutating func staged(_ entries: [Entry], batch id: Int64, data: ByteBuffer, at now: Instant) -> Int {
        let holds = entries.map { ReplayLog.Hold(tenant: $0.tenant, points: $0.points, bytes: $0.bytes) }
        self.log.staged(.init(id: id, data: data, holds: holds, stagedAt: now))
        return self.log.pendingPoints
    }

    /// A batch a previous run acknowledged and could not see flushed before it stopped
    /// (`UnflushedSpool`): held like one staged now, and checked for loss at the next flush.
    package mutating func restoreUnflushed(batch id: Int64, data: ByteBuffer, at now: Instant) {
        self.log.staged(.init(id: id, data: data, holds: [], stagedAt: now))
        self.suspicion += 1
    }

    /// The batches acknowledged and not confirmed flushed, oldest id first.
    package var unflushedBatches: [ReplayLog.Batch] { self.log.batches(self.log.pendingIDs) }

    /// The entries were not stored (their requests get a 503): their capacity comes
    /// back, and the staging table is suspected of loss (a failed staging write may mean a
    /// restarted primary).
    package mutating func stagingFailed(_ entries: [Entry]) {
        for entry in entries { self.queue.release(tenant: entry.tenant, points: entry.points, bytes: entry.bytes) }
        self.suspicion += 1
    }

    /// A group's staging failed and will be tried again: the staging table is suspected of
    /// loss (the primary restarted or changed), the group keeps its capacity.
    package mutating func stagingInterrupted() {
        self.suspicion += 1
    }

    /// PostgreSQL refused the entry's rows; they are kept in quarantine: capacity back.
    package mutating func quarantined(_ entry: Entry) {
        self.queue.release(tenant: entry.tenant, points: entry.points, bytes: entry.bytes)
    }

    /// The writer finished the group it took.
    package mutating func groupDone() {
        self.inFlight -= 1
    }

    // MARK: - Batch ids

    /// A batch id no batch held here has: the next of the fetched block, or fetch one.
    package mutating func takeBatchID() -> BatchIDAction {
        var skipped = [Int64]()
        while let id = self.batchIDs.popLast() {
            if !self.log.contains(id) { return .use(id, skipped: skipped) }
            skipped.append(id)
        }
        return .fetchBlock
    }

    /// A block of ids fresh from the sequence; handed out smallest first.
    package mutating func addBatchIDs(_ block: [Int64]) {
        self.batchIDs.append(contentsOf: block.sorted(by: >))
    }

    // MARK: - The flusher

    /// What the flusher does next: it sleeps between flushes (`flushInterval`, or
    /// `idleFlushInterval` when this server has nothing staged and no suspicion), and
    /// when draining flushes until everything is confirmed or `drainTimeout` passed.
    package mutating func flusherNext(now: Instant) -> FlusherAction {
        if case .draining(let since) = self.lifecycle {
            if self.isEmpty { return .stop(unflushedPoints: 0) }
            if since.duration(to: now) >= self.configuration.drainTimeout {
                return .stop(unflushedPoints: self.log.pendingPoints)
            }
        }
        if !self.flusherSlept {
            self.flusherSlept = true
            defer { self.backoff = .zero }
            if case .draining(let since) = self.lifecycle {
                // Never past the drain's end: the check above stops the flusher there.
                let left = self.configuration.drainTimeout - since.duration(to: now)
                return .sleep(min(self.configuration.drainPollInterval + self.backoff, max(.zero, left)), endsOnShutdown: false)
            }
            return .sleep(self.configuration.flushInterval + self.backoff, endsOnShutdown: true)
        }
        self.flusherSlept = false
        let idle = self.isEmpty && !self.suspectsLoss
        if idle, !self.isDraining, self.lastFlush.duration(to: now) < self.configuration.idleFlushInterval {
            return self.flusherNext(now: now)
        }
        self.lastFlush = now
        return .flush(prune: self.lastPrune.duration(to: now) > self.configuration.pruneInterval)
    }

    /// The flush (and the prune, when it ran) committed.
    package mutating func flushSucceeded(pruned: Bool, at now: Instant) {
        if pruned { self.lastPrune = now }
        self.failuresInARow = 0
    }

    /// The flush failed: the next one waits longer (twice as long as after the failure
    /// before), and checks every pending batch for loss.
    package mutating func flushFailed() {
        self.suspicion += 1
        self.failuresInARow += 1
        let doubled = self.configuration.failureBackoff * (1 << min(self.failuresInARow - 1, 16))
        self.backoff = min(doubled, self.configuration.maxFailureBackoff)
    }

    /// Batches acknowledged and not seen flushed, to look up in `ingest_flushed_batches`.
    package var pendingBatchIDs: [Int64] { self.log.pendingIDs }

    /// These batches' flush committed: they are forgotten and their capacity given
    /// back. Returns the points still staged and not flushed.
    package mutating func flushConfirmed(_ ids: [Int64]) -> Int {
        for hold in self.log.flushed(ids) {
            self.queue.release(tenant: hold.tenant, points: hold.points, bytes: hold.bytes)
        }
        return self.log.pendingPoints
    }

    /// The batches to check for loss after a flush: every pending one while loss is
    /// suspected, else those staged more than `lossCheckAge` ago (a flush should have
    /// moved them by then).
    package func lossCheck(now: Instant) -> LossCheck {
        let candidates =
            self.suspectsLoss
            ? self.log.pendingIDs
            : self.log.staged(before: now.advanced(by: .zero - self.configuration.lossCheckAge))
        return LossCheck(candidates: candidates, suspicion: self.suspicion)
    }

    /// The database has none of these batches, staged or flushed: what to stage again,
    /// with the same ids and COPY text, so nothing is lost or stored twice.
    package func lostBatches(_ ids: [Int64]) -> [ReplayLog.Batch] {
        self.log.batches(ids)
    }

    package mutating func replayed(_ id: Int64) {
        self.replayedBatches += 1
    }

    /// The loss check completed: the suspicion it read is answered (one raised since
    /// stays, for the next check).
    package mutating func lossCheckDone(_ check: LossCheck) {
        self.answeredSuspicion = max(self.answeredSuspicion, check.suspicion)
    }

    // MARK: - Draining

    /// Graceful shutdown: refuse new points, let the writers empty the queue and the
    /// flusher confirm what was staged. Returns the parked writers to wake.
    package mutating func beginDrain(now: Instant) -> [Int] {
        guard self.lifecycle == .running else { return [] }
        self.lifecycle = .draining(since: now)
        defer { self.parkedWriters.removeAll() }
        return self.parkedWriters
    }

    // MARK: - Reading

    package var isDraining: Bool { self.lifecycle != .running }

    /// While draining, how long is left until `drainTimeout`; nil while running.
    package func drainTimeLeft(now: Instant) -> Duration? {
        guard case .draining(let since) = self.lifecycle else { return nil }
        return max(.zero, self.configuration.drainTimeout - since.duration(to: now))
    }
    package var suspectsLoss: Bool { self.suspicion > self.answeredSuspicion }
    /// Nothing queued, in flight or waiting for its flush.
    package var isEmpty: Bool { self.log.count == 0 && self.queue.isEmpty && self.inFlight == 0 }
    package var unflushedPoints: Int { self.log.pendingPoints }
    package var heldPoints: Int { self.queue.heldPoints }
    /// Points admitted and waiting for a writer.
    package var queuedPoints: Int { self.queue.queuedPoints }
    /// When the oldest batch not confirmed flushed was staged.
    package var oldestUnflushedAt: Instant? { self.log.oldestStagedAt }
    package func held(by tenant: Int64) -> Int { self.queue.held(by: tenant) }
    package var parked: [Int] { self.parkedWriters }
}
