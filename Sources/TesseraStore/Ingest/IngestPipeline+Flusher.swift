import Logging
import PostgresNIO
import ServiceLifecycle
import TesseraCore

/// The flusher: moves what is staged with `stage_flush()` (or in parts, one a session, with
/// `stage_flush_part()`), confirms which held batches
/// were flushed (giving their queue capacity back), and stages again the batches the
/// database lost. When it runs and when it stops is the state machine's decision.
extension IngestPipeline {
    func flushLoop() async {
        // What the database was last told of the flush (health_check()'s flush_failures).
        var outcome = FlushOutcomeReport()
        while true {
            // Cancelled (not a graceful shutdown: the service group is tearing down after a
            // failure): no query can run any more and every sleep returns at once, so stop
            // instead of spinning. What is staged stays in the table for the next flush.
            if Task.isCancelled {
                self.logger.error("Flusher cancelled", metadata: ["unflushed.points": "\(self.unflushedPoints)"])
                return
            }
            let now = self.clock.now
            switch self.state.withLock({ $0.machine.flusherNext(now: now) }) {
            case .stop:
                // What is left unflushed is reported once the writers are done too (`run`).
                return
            case .sleep(let duration, let endsOnShutdown):
                if endsOnShutdown {
                    _ = try? await cancelWhenGracefulShutdown { try await self.clock.sleep(for: duration) }
                } else {
                    try? await self.clock.sleep(for: duration)
                }
            case .flush(let prune):
                do {
                    // A drain ends at its timeout whatever the database does: a flush that
                    // would run past it is abandoned (a later flush confirms what it did).
                    let left = self.state.withLock { $0.machine.drainTimeLeft(now: now) }
                    let ran = try await Deadline.run(within: left ?? .seconds(86_400 * 365), "the flush") {
                        let ran = try await self.flushOnce()
                        if prune {
                            try await self.primary.liveQuery(StagingSQL.pruneFlushed, logger: self.logger)
                            try await self.primary.liveQuery(StagingSQL.pruneFenced, logger: self.logger)
                        }
                        return ran
                    }
                    let finished = self.clock.now
                    self.state.withLock { $0.machine.flushSucceeded(pruned: prune, at: finished) }
                    // A flush skipped because another server's held the lock says nothing of it.
                    if ran, outcome.shouldReportSuccess(now: finished) {
                        await self.reportFlushOutcome(failed: false, error: nil)
                        outcome.reported(failed: false, at: finished)
                    }
                } catch {
                    self.state.withLock { $0.machine.flushFailed() }
                    self.metrics.flushFailed()
                    self.logger.warning("Flush failed; will retry", metadata: ["error": "\(String(reflecting: error))"])
                    await self.reportFlushOutcome(failed: true, error: Self.summary(of: error))
                    outcome.reported(failed: true, at: self.clock.now)
                }
            }
        }
    }

    /// Tells the database how the flush fared (`record_flush_outcome()`); a database that
    /// does not answer is not told (the failure is in the log and the metrics).
    private func reportFlushOutcome(failed: Bool, error: String?) async {
        let detail = error.map { String($0.prefix(500)) }
        // Not past a drain's end either.
        let now = self.clock.now
        let left = self.state.withLock { $0.machine.drainTimeLeft(now: now) } ?? self.configuration.callDeadline
        _ = try? await Deadline.run(within: min(self.configuration.callDeadline, left), "record_flush_outcome()") {
            try await self.primary.liveQuery("SELECT record_flush_outcome(\(failed), \(detail))", logger: self.logger)
        }
    }

    /// What an operator reads of a flush failure: PostgreSQL's SQLSTATE and message, or the
    /// kind of error (no query text, no data).
    static func summary(of error: any Error) -> String {
        if let error = error as? PSQLError, let message = error.serverInfo?[.message] {
            return "\(error.serverInfo?[.sqlState] ?? "?") \(message)"
        }
        if let error = error as? PSQLError { return "\(error.code)" }
        return String(describing: type(of: error))
    }

    /// A flush may move a large backlog: it gets ten call deadlines.
    private var flushDeadline: Duration { self.configuration.callDeadline * 10 }

    /// One flush, then confirm and (if there is reason to) check for lost batches. False when
    /// the flush did not run: another server's held its lock (`stage_flush()` answered -1).
    @discardableResult
    package func flushOnce() async throws -> Bool {
        let started = self.clock.now
        // Abandoning a flush at its deadline is safe: a later one that meets it still
        // running skips (stage_flush takes a try-lock), and confirms what it committed.
        let flushed = try await Deadline.run(within: self.flushDeadline, "stage_flush()") {
            // Several sessions split the staged batches by tenant; with one part (one
            // session, or one tenant staged), one session moves everything staged.
            let sessions = self.configuration.flushSessions
            guard sessions > 1 else { return try await self.flushPart(StagingSQL.stageFlush) }
            let staged = try await self.stagedBatches()
            if self.state.withLock({ $0.machine.unflushedPoints }) == 0 {
                // Nothing of this server's own staged: only what others left (`leftBehind`). A
                // flush that found nothing left behind did not run (its success says nothing
                // of anyone's flush) unless nothing at all is staged.
                let left = self.leftBehind(staged)
                guard !left.isEmpty else { return FlushedPart(ran: staged.isEmpty) }
                return await self.flushParts(FlushSplit.parts(of: left, into: sessions))
            }
            let parts = FlushSplit.parts(of: staged, into: sessions)
            guard parts.count > 1 else { return try await self.flushPart(StagingSQL.stageFlush) }
            return await self.flushParts(parts)
        }
        if flushed.quarantined > 0 {
            self.metrics.quarantined(Int(flushed.quarantined))
            self.logger.error(
                "The flush set rows aside in quarantine: PostgreSQL refused them",
                metadata: ["quarantined.rows": "\(flushed.quarantined)"]
            )
        }
        if flushed.moved > 0 { self.metrics.flushed(rows: Int(flushed.moved), duration: started.duration(to: self.clock.now)) }
        // What the parts that committed changed is published and confirmed even when another
        // part failed: one tenant's failing flush must not keep the others' entities stale in
        // the cache, nor their flushed batches holding the queue's capacity.
        if flushed.moved > 0, let change = flushed.change { await self.feed.publish(change) }
        try await self.confirmFlushed()
        if let failure = flushed.failure { throw failure }
        let now = self.clock.now
        let check = self.state.withLock { $0.machine.lossCheck(now: now) }
        if !check.candidates.isEmpty {
            try await self.replayLost(check.candidates)
        }
        self.state.withLock { $0.machine.lossCheckDone(check) }
        return flushed.ran
    }

    /// What a server with nothing of its own staged flushes (every `idleFlushInterval`, for
    /// rows a server that died left): the batches it found staged at its previous flush too —
    /// staged at least one idle interval ago, so left by a dead server or behind a busy one —
    /// in parts beside any busy server's (the flush lock shared, a try-lock a tenant). The
    /// single `stage_flush()` it ran before took the flush lock whole whenever it found a busy
    /// server between two flushes, and moved the whole backlog on one core while that
    /// server's parts were skipped (BENCHMARKS.md, "What a stored value costs the machine").
    private func leftBehind(_ staged: [FlushSplit.Staged]) -> [FlushSplit.Staged] {
        self.seenStaged.withLock { seen in
            let left = staged.filter { seen.contains($0.batch) }
            seen = Set(staged.map(\.batch))
            return left
        }
    }

    /// Every part at once, each on a connection of its own. Every part runs to its end: a
    /// failed part does not cancel the others' queries (each commits or not on its own).
    private func flushParts(_ parts: [FlushSplit.Part]) async -> FlushedPart {
        await withTaskGroup(of: FlushedPart.self) { group in
            for part in parts {
                group.addTask {
                    do { return try await self.flushPart(StagingSQL.stageFlushPart(part)) } catch { return FlushedPart(failure: error) }
                }
            }
            var total = FlushedPart()
            for await flushed in group { total.add(flushed) }
            return total
        }
    }

    /// The staged (batch, tenant) pairs and their rows (`staged_batches()`).
    private func stagedBatches() async throws -> [FlushSplit.Staged] {
        var staged = [FlushSplit.Staged]()
        let rows = try await self.primary.liveQuery(StagingSQL.stagedBatches, logger: self.logger)
        for try await (batch, tenant, count) in rows.decode((Int64, Int64, Int64).self) {
            staged.append(.init(batch: batch, tenant: tenant, rows: count))
        }
        return staged
    }

    /// One flush statement (`stage_flush()`, or a part's `stage_flush_part()`) on a
    /// connection of its own, and what it moved.
    private func flushPart(_ query: PostgresQuery) async throws -> FlushedPart {
        let rows = try await self.primary.liveQuery(query, logger: self.logger)
        var flushed = FlushedPart()
        for try await (count, setAside, tenants, entityTenants, entities, versions, at)
            in rows.decode((Int64, Int64, [Int64], [Int64], [Int64], [Int64], Int64).self)
        {
            let change = ProjectionFeed.change(tenants: tenants, entityTenants: entityTenants, entities: entities, versions: versions, atMicros: at)
            flushed.add(FlushedPart(moved: max(0, count), quarantined: setAside, change: change, ran: count >= 0))
        }
        return flushed
    }

    private func confirmFlushed() async throws {
        let pending = self.state.withLock { $0.machine.pendingBatchIDs }
        guard !pending.isEmpty else { return }
        let flushed = try await self.batchIDs("the flush confirmation", StagingSQL.flushed(among: pending))
        guard !flushed.isEmpty else { return }
        let backlog = self.state.withLock { $0.machine.flushConfirmed(flushed) }
        self.metrics.backlog(backlog)
        self.forgetSpooled(flushed)
    }

    /// Stages again the batches that are neither flushed nor staged any more.
    private func replayLost(_ candidates: [Int64]) async throws {
        let lost = try await self.batchIDs("the check for lost batches", StagingSQL.lost(among: candidates))
        guard !lost.isEmpty else { return }
        let batches = self.state.withLock { $0.machine.lostBatches(lost) }
        for batch in batches {
            self.partitions.reset()
            try await self.replayLink.stage(batch.data)
            self.metrics.replayed()
            self.state.withLock { $0.machine.replayed(batch.id) }
            self.logger.warning(
                "Replayed a batch the database lost",
                metadata: ["batch.id": "\(batch.id)", "batch.points": "\(batch.holds.reduce(0) { $0 + $1.points })"]
            )
        }
    }

    /// The batch ids `query` answers on the primary, within the call deadline.
    private func batchIDs(_ what: String, _ query: PostgresQuery) async throws -> [Int64] {
        try await Deadline.run(within: self.configuration.callDeadline, what) {
            var ids = [Int64]()
            for try await id in try await self.primary.liveQuery(query, logger: self.logger).decode(Int64.self) { ids.append(id) }
            return ids
        }
    }
}

/// What one or more parts of a flush moved: rows, rows set aside, the projection's change,
/// and whether any part ran (a flush answers -1 when other flushes hold what it would move).
/// The first error of a part that failed, if any, is kept: the others' work is published and
/// confirmed before it is thrown.
struct FlushedPart: Sendable {
    var moved: Int64 = 0
    var quarantined: Int64 = 0
    var change: ProjectionChange?
    var ran = false
    var failure: (any Error)?

    mutating func add(_ other: FlushedPart) {
        self.moved += other.moved
        self.quarantined += other.quarantined
        if let part = other.change { self.change = self.change.map { $0.merged(with: part) } ?? part }
        self.ran = self.ran || other.ran
        if self.failure == nil { self.failure = other.failure }
    }
}
