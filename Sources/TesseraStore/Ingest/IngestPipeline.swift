import Logging
import Metrics
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Synchronization
import TesseraCore

/// The `fast` write path. Requests hand over resolved rows and wait for their
/// acknowledgement; writers take groups from the bounded fair queue (whatever has
/// queued while the previous COPY ran, up to `maxGroupPoints`), sort them by key,
/// COPY them into the UNLOGGED staging table as one batch (`synchronous_commit=off`)
/// and acknowledge. The flusher moves staged rows every 100 ms with `stage_flush()`.
/// Every acknowledged batch stays in the `ReplayLog` until its flush is seen
/// committed; batches the database lost (crash recovery empties UNLOGGED tables)
/// are staged again, with the same batch id, so nothing is lost or stored twice.
package final class IngestPipeline: Service, Sendable {
    package struct Configuration: Sendable {
        package var limits: IngestQueue<Pending>.Limits
        package var writers: Int
        package var maxGroupPoints: Int
        package var flushInterval: Duration
        /// With nothing of its own staged, a server flushes only this often instead of
        /// every `flushInterval`: an idle server does not query the primary ten times a
        /// second, and rows staged by a server that died are still moved within this.
        package var idleFlushInterval: Duration
        /// A batch still unconfirmed after this long is checked for loss.
        package var lossCheckAge: Duration
        /// How long a graceful shutdown waits for staged batches to be flushed.
        package var drainTimeout: Duration
        /// A database call of the write path (batch ids, partitions, the staging COPY, a
        /// flush) not answered within this is abandoned: its requests get a 503 they can
        /// retry instead of waiting on a driver that never answers.
        package var callDeadline: Duration
        /// How long settling a failed staging COPY's batch may take before its 503: it waits
        /// for a flush under way (a flush holds the lock it needs), and for a primary that
        /// restarts. Past it the 503 is given unsettled (see `settle`).
        package var settleDeadline: Duration

        package init(
            limits: IngestQueue<Pending>.Limits = .init(),
            writers: Int = 2,
            maxGroupPoints: Int = 20_000,
            flushInterval: Duration = .milliseconds(100),
            idleFlushInterval: Duration = .seconds(2),
            lossCheckAge: Duration = .seconds(2),
            drainTimeout: Duration = .seconds(30),
            callDeadline: Duration = .seconds(30),
            settleDeadline: Duration = .seconds(60)
        ) {
            self.limits = limits
            self.writers = writers
            self.maxGroupPoints = maxGroupPoints
            self.flushInterval = flushInterval
            self.idleFlushInterval = idleFlushInterval
            self.lossCheckAge = lossCheckAge
            self.drainTimeout = drainTimeout
            self.callDeadline = callDeadline
            self.settleDeadline = settleDeadline
        }
    }

    /// One request's rows waiting for their batch.
    package struct Pending: Sendable {
        var rows: [IngestRow]
        var continuation: CheckedContinuation<Staged, any Error>
    }

    /// How a request's rows were taken: staged in a batch, or (when PostgreSQL refused
    /// them at the staging COPY) kept in quarantine for an operator.
    package struct Staged: Sendable, Equatable {
        package var batchID: Int64
        package var quarantined: Bool
    }

    private struct State: Sendable {
        var queue: IngestQueue<Pending>
        var log = ReplayLog()
        var idleWriters: [CheckedContinuation<Void, Never>] = []
        var accepting = true
        var draining = false
        var suspectLoss = false
        var replayedBatches = 0
        /// Groups taken by writers and not yet staged or failed.
        var inFlight = 0
    }

    let configuration: Configuration
    /// One COPY connection per writer, at `synchronous_commit=off`.
    let writerLinks: [StagingLink]
    /// The COPY connection of the replay (run by the flusher).
    let replayLink: StagingLink
    /// Pool on the primary with synchronous commit, for flushes and checks.
    let primary: PostgresClient
    let partitions: PartitionGuard
    let logger: Logger
    private let state: Mutex<State>
    /// Batch ids taken from the sequence and not used yet.
    private let batchIDs = Mutex<[Int64]>([])
    private let metrics = IngestMetrics()

    /// Told what each committed flush changed.
    package let feed: ProjectionFeed

    package init(
        configuration: Configuration,
        stagingURL: DatabaseURL,
        primary: PostgresClient,
        partitions: PartitionGuard,
        feed: ProjectionFeed = ProjectionFeed(),
        logger: Logger
    ) throws {
        self.feed = feed
        self.configuration = configuration
        self.writerLinks = try (0..<max(1, configuration.writers)).map { _ in try StagingLink(url: stagingURL, deadline: configuration.callDeadline, logger: logger) }
        // A replay abandoned at its deadline could still commit, and the next replay of the
        // same batch would store it twice: its deadline is far past any real COPY.
        self.replayLink = try StagingLink(url: stagingURL, deadline: .seconds(300), logger: logger)
        self.primary = primary
        self.partitions = partitions
        self.logger = logger
        self.state = Mutex(State(queue: IngestQueue(limits: configuration.limits)))
    }

    // MARK: - Submitting

    /// Queues rows and returns once they are staged (the `fast` acknowledgement), with
    /// their batch id. Throws `rate_limited` when the tenant holds its share of the
    /// queue, `unavailable` when the queue is full or the database failed the COPY.
    package func submit(_ rows: [IngestRow], tenant: Int64) async throws(TesseraError) -> Staged {
        guard !rows.isEmpty else { return Staged(batchID: 0, quarantined: false) }
        let bytes = rows.reduce(0) { $0 + 48 + $1.value.approximateBytes }
        let admission: IngestQueue<Pending>.Admission? = self.state.withLock { state in
            guard state.accepting else { return nil }
            return state.queue.admit(tenant: tenant, points: rows.count, bytes: bytes)
        }
        switch admission {
        case nil:
            throw TesseraError(.unavailable, "The server is shutting down; send the points to another server or retry.")
        case .overTenantShare:
            self.metrics.rejected(rows.count, reason: "rate_limited")
            throw TesseraError(.rateLimited, "This tenant has its full share of the write queue in flight; retry after a second.")
        case .saturated:
            self.metrics.rejected(rows.count, reason: "saturated")
            throw TesseraError(.unavailable, "The write queue is full; retry after a second.")
        case .admitted:
            break
        }
        do {
            return try await withCheckedThrowingContinuation { continuation in
                let writer = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                    state.queue.enqueue(.init(tenant: tenant, points: rows.count, bytes: bytes, item: Pending(rows: rows, continuation: continuation)))
                    return state.idleWriters.popLast()
                }
                writer?.resume()
            }
        } catch let error as TesseraError {
            throw error
        } catch {
            throw TesseraError(.unavailable, "The points could not be staged; retry.")
        }
    }

    // MARK: - Running

    package func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            for link in self.writerLinks {
                group.addTask { await self.writeLoop(link) }
            }
            group.addTask { await self.flushLoop() }
            await withGracefulShutdownHandler {
                await group.waitForAll()
            } onGracefulShutdown: {
                self.beginDrain()
            }
        }
        for link in self.writerLinks + [self.replayLink] { await link.close() }
    }

    /// Stops accepting, lets writers empty the queue and the flusher confirm what was staged.
    private func beginDrain() {
        let idle = self.state.withLock { state in
            state.accepting = false
            state.draining = true
            defer { state.idleWriters.removeAll() }
            return state.idleWriters
        }
        idle.forEach { $0.resume() }
    }

    private func nextGroup() async -> [IngestQueue<Pending>.Entry]? {
        while true {
            let (group, done) = self.state.withLock { state -> ([IngestQueue<Pending>.Entry], Bool) in
                let group = state.queue.nextGroup(maxPoints: self.configuration.maxGroupPoints)
                if !group.isEmpty { state.inFlight += 1 }
                return (group, group.isEmpty && state.draining)
            }
            if !group.isEmpty { return group }
            if done { return nil }
            await withCheckedContinuation { continuation in
                let resumeNow = self.state.withLock { state -> Bool in
                    if !state.queue.isEmpty || state.draining { return true }
                    state.idleWriters.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    private func writeLoop(_ link: StagingLink) async {
        while let group = await self.nextGroup() {
            do {
                try await self.stage(group, link: link)
            } catch let refusal as DataRefusal where group.count > 1 {
                // One request's rows must not cost the others theirs: each is staged on its
                // own, and only those PostgreSQL still refuses go to quarantine.
                self.logger.warning("A staging COPY was refused on data; staging its requests one by one", metadata: [
                    "batch.requests": "\(group.count)", "sqlstate": "\(refusal.sqlState)",
                ])
                for entry in group {
                    do {
                        try await self.stage([entry], link: link)
                    } catch let refusal as DataRefusal {
                        await self.quarantine(entry, refusal)
                    } catch {
                        self.fail([entry], error)
                    }
                }
            } catch let refusal as DataRefusal {
                await self.quarantine(group[0], refusal)
            } catch {
                self.fail(group, error)
            }
            self.state.withLock { $0.inFlight -= 1 }
        }
    }

    /// A staging COPY PostgreSQL refused for its data: no retry of these rows can succeed.
    struct DataRefusal: Error {
        var sqlState: String
        var message: String
        var batchID: Int64
        var data: ByteBuffer
    }

    /// COPYs the entries' rows as one batch and acknowledges them; throws `DataRefusal`
    /// when PostgreSQL refused the rows, any other error when they were not staged.
    private func stage(_ entries: [IngestQueue<Pending>.Entry], link: StagingLink) async throws {
        var rows = [IngestRow]()
        rows.reserveCapacity(entries.reduce(0) { $0 + $1.points })
        for entry in entries { rows.append(contentsOf: entry.item.rows) }
        // Requests in queue order: a point written twice keeps its later value.
        rows = rows.keepingLastOfEachPoint()
        rows.sort(by: Self.keyOrder)
        let started = ContinuousClock.now
        let sorted = rows
        let batchID = try await Deadline.run(within: self.configuration.callDeadline, "the batch id and partitions") {
            try await self.partitions.ensure(for: sorted)
            return try await self.nextBatchID()
        }
        let data = StagingEncoder.encode(rows, batchID: batchID)
        do {
            try await link.copy(data)
        } catch let failure as StagingLink.CopyFailure {
            if let state = DatabaseErrors.sqlState(of: failure.underlying), DatabaseErrors.isDataError(state) {
                // PostgreSQL answered with an error: the COPY was aborted, nothing committed.
                let message = (failure.underlying as? PSQLError)?.serverInfo?[.message] ?? "refused"
                throw DataRefusal(sqlState: state, message: message, batchID: batchID, data: data)
            }
            // Acknowledged after all if PostgreSQL committed it, else fenced: a 503
            // must mean not stored, or the client's retry would store it twice.
            guard failure.sent, try await self.settle(batchID: batchID) else {
                self.logger.error("Staging COPY failed", metadata: [
                    "batch.points": "\(rows.count)", "batch.id": "\(batchID)", "error": "\(String(reflecting: failure))",
                ])
                throw failure
            }
            self.logger.warning("A staging COPY reported failure but was committed; acknowledged", metadata: ["batch.id": "\(batchID)"])
        }
        let holds = entries.map { ReplayLog.Hold(tenant: $0.tenant, points: $0.points, bytes: $0.bytes) }
        let pending = self.state.withLock { state in
            state.log.staged(.init(id: batchID, data: data, holds: holds, stagedAt: .now))
            return state.log.pendingPoints
        }
        self.metrics.staged(points: rows.count, duration: ContinuousClock.now - started, backlog: pending)
        for entry in entries { entry.item.continuation.resume(returning: Staged(batchID: batchID, quarantined: false)) }
    }

    /// Answers the entries' requests with a 503: their rows were not stored.
    private func fail(_ entries: [IngestQueue<Pending>.Entry], _ error: any Error) {
        if !(error is StagingLink.CopyFailure) {
            self.logger.error("Staging failed", metadata: [
                "batch.points": "\(entries.reduce(0) { $0 + $1.points })", "error": "\(String(reflecting: error))",
            ])
        }
        self.state.withLock { state in
            for entry in entries { state.queue.release(tenant: entry.tenant, points: entry.points, bytes: entry.bytes) }
            state.suspectLoss = true
        }
        self.metrics.rejected(entries.reduce(0) { $0 + $1.points }, reason: "staging_failed")
        let failure = TesseraError(.unavailable, "The database did not take the points; they were not stored. Retry.")
        for entry in entries { entry.item.continuation.resume(throwing: failure) }
    }

    /// Keeps the rows of one request PostgreSQL refused at the staging COPY in
    /// `ingest_quarantine` (as the COPY text, for `tessera quarantine replay`), and
    /// acknowledges them as quarantined; a 503 when even that fails.
    private func quarantine(_ entry: IngestQueue<Pending>.Entry, _ refusal: DataRefusal) async {
        do {
            let bytes = refusal.data
            let reason = "the staging COPY failed: " + refusal.message
            try await Deadline.run(within: self.configuration.callDeadline, "quarantining a refused batch") {
                try await self.primary.query(
                    """
                    INSERT INTO ingest_quarantine (tenant_id, batch_id, copy_data, copy_rows, sqlstate, reason)
                    VALUES (\(entry.tenant), \(refusal.batchID), \(bytes), \(entry.points), \(refusal.sqlState), \(reason))
                    """,
                    logger: self.logger
                )
            }
        } catch {
            self.fail([entry], error)
            return
        }
        self.logger.error("A request's points were refused by the staging COPY; kept in quarantine", metadata: [
            "tenant.id": "\(entry.tenant)", "batch.id": "\(refusal.batchID)", "batch.points": "\(entry.points)", "sqlstate": "\(refusal.sqlState)",
        ])
        self.state.withLock { $0.queue.release(tenant: entry.tenant, points: entry.points, bytes: entry.bytes) }
        self.metrics.quarantined(entry.points)
        entry.item.continuation.resume(returning: Staged(batchID: refusal.batchID, quarantined: true))
    }

    /// After a staging COPY failed or was abandoned (PostgreSQL may still hold its rows
    /// and commit them): true when the batch was committed, staged or flushed, and is to
    /// be acknowledged; false when it was not, and is now fenced: `stage_flush()` drops
    /// its rows, whenever they commit (migration 0007). Throws when the primary does not
    /// answer within the configuration's `settleDeadline`; the batch is then answered as not stored, as
    /// before this check, which is true unless that COPY commits after all.
    package func settle(batchID: Int64) async throws -> Bool {
        let logger = self.logger
        return try await Deadline.run(within: self.configuration.settleDeadline, "settling a failed staging COPY") {
            // The lock wait ends on the server before the deadline here: no settling goes on
            // after its request was answered.
            let deadline = self.configuration.settleDeadline.components
            let waitMilliseconds = Int32(clamping: max(100, deadline.seconds * 1_000 + deadline.attoseconds / 1_000_000_000_000_000 - 2_000))
            let rows = try await self.primary.query("SELECT settle_staged_batch(\(batchID), \(waitMilliseconds))", logger: logger)
            for try await committed in rows.decode(Bool.self) { return committed }
            throw TesseraError(.unavailable, "settle_staged_batch() answered no row.")
        }
    }

    static func keyOrder(_ a: IngestRow, _ b: IngestRow) -> Bool {
        if a.tenantID != b.tenantID { return a.tenantID < b.tenantID }
        if a.entityID != b.entityID { return a.entityID < b.entityID }
        if a.attributeID != b.attributeID { return a.attributeID < b.attributeID }
        return a.timestamp < b.timestamp
    }

    /// A batch id no batch ever had, from a block of 64 taken at once. Blocks are taken on
    /// the synchronous-commit pool: PostgreSQL WAL-logs a sequence 32 values ahead, and
    /// with `synchronous_commit=off` that record can be lost in a crash, so the sequence
    /// would hand out again ids of acknowledged batches waiting for replay (and the
    /// replay would take the new batch for the old one). With synchronous commit, the
    /// statement that logs waits for the record to be on disk. Ids this server still
    /// holds are skipped all the same.
    private func nextBatchID() async throws -> Int64 {
        for _ in 0..<4 {
            while let id = self.batchIDs.withLock({ $0.popLast() }) {
                if !self.state.withLock({ $0.log.contains(id) }) { return id }
                self.logger.error("The batch id sequence went back to an id still held; skipping it", metadata: ["batch.id": "\(id)"])
            }
            let rows = try await self.primary.query(
                "SELECT nextval('ingest_batch_seq') FROM generate_series(1, 64)",
                logger: self.logger
            )
            var block = [Int64]()
            for try await id in rows.decode(Int64.self) { block.append(id) }
            // Handed out smallest first.
            self.batchIDs.withLock { $0.append(contentsOf: block.sorted(by: >)) }
        }
        throw TesseraError(.unavailable, "No batch id.")
    }

    // MARK: - Flushing and recovery

    private func flushLoop() async {
        var lastPrune = ContinuousClock.now
        var lastFlush = ContinuousClock.now
        while true {
            let (draining, empty) = self.state.withLock { ($0.draining, $0.log.count == 0 && $0.queue.isEmpty && $0.inFlight == 0) }
            if draining && empty { return }
            // Cancelled (not a graceful shutdown: the service group is tearing down after a
            // failure): no query can run any more and every sleep returns at once, so stop
            // instead of spinning. What is staged stays in the table for the next flush.
            if Task.isCancelled {
                self.logger.error("Flusher cancelled", metadata: ["unflushed.points": "\(self.unflushedPoints)"])
                return
            }
            if !draining {
                let interval = self.configuration.flushInterval
                _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } else {
                try? await Task.sleep(for: .milliseconds(20))
            }
            let idle = self.state.withLock { $0.log.count == 0 && $0.queue.isEmpty && $0.inFlight == 0 && !$0.suspectLoss }
            if idle, !draining, ContinuousClock.now - lastFlush < self.configuration.idleFlushInterval { continue }
            lastFlush = .now
            do {
                try await self.flushOnce()
                if ContinuousClock.now - lastPrune > .seconds(60) {
                    try await self.primary.query(
                        "DELETE FROM ingest_flushed_batches WHERE flushed_at < now() - interval '24 hours'",
                        logger: self.logger
                    )
                    try await self.primary.query(
                        "DELETE FROM ingest_fenced_batches WHERE fenced_at < now() - interval '24 hours'",
                        logger: self.logger
                    )
                    lastPrune = .now
                }
            } catch {
                self.state.withLock { $0.suspectLoss = true }
                self.logger.warning("Flush failed; will retry", metadata: ["error": "\(String(reflecting: error))"])
                try? await Task.sleep(for: .milliseconds(250))
            }
            if draining, self.drainDeadlinePassed() { return }
        }
    }

    /// A flush may move a large backlog: it gets ten call deadlines.
    private var flushDeadline: Duration { self.configuration.callDeadline * 10 }

    private let drainStart = Mutex<ContinuousClock.Instant?>(nil)

    private func drainDeadlinePassed() -> Bool {
        let start = self.drainStart.withLock { start in
            if start == nil { start = .now }
            return start!
        }
        if ContinuousClock.now - start > self.configuration.drainTimeout {
            let left = self.state.withLock { $0.log.pendingPoints }
            self.logger.error("Shutting down with staged points not confirmed flushed", metadata: ["points": "\(left)"])
            return true
        }
        return false
    }

    /// One flush, then confirm and (if there is reason to) check for lost batches.
    package func flushOnce() async throws {
        let started = ContinuousClock.now
        // Abandoning a flush at its deadline is safe: a later one that meets it still
        // running skips (stage_flush takes a try-lock), and confirms what it committed.
        // One row per move that committed (several when a data error made the flush move
        // each batch and tenant on its own, quarantining those that failed; migration 0010).
        let (moved, quarantined, change) = try await Deadline.run(within: self.flushDeadline, "stage_flush()") {
            let rows = try await self.primary.query(
                "SELECT moved_rows, quarantined_rows, \(unescaped: ProjectionFeed.changeColumns) FROM stage_flush()",
                logger: self.logger
            )
            var moved: Int64 = 0
            var quarantined: Int64 = 0
            var change: ProjectionChange?
            for try await (count, setAside, tenants, entityTenants, entities, versions, at)
                in rows.decode((Int64, Int64, [Int64], [Int64], [Int64], [Int64], Int64).self) {
                moved += max(0, count)
                quarantined += setAside
                let part = ProjectionFeed.change(tenants: tenants, entityTenants: entityTenants, entities: entities, versions: versions, atMicros: at)
                change = change.map { $0.merged(with: part) } ?? part
            }
            return (moved, quarantined, change)
        }
        if quarantined > 0 {
            self.metrics.quarantined(Int(quarantined))
            self.logger.error("The flush set rows aside in quarantine: PostgreSQL refused them", metadata: ["quarantined.rows": "\(quarantined)"])
        }
        if moved > 0 { self.metrics.flushed(rows: Int(moved), duration: ContinuousClock.now - started) }
        if moved > 0, let change { await self.feed.publish(change) }
        try await self.confirmFlushed()
        let (suspect, candidates) = self.state.withLock { state in
            (state.suspectLoss, state.suspectLoss ? state.log.pendingIDs : state.log.staged(before: .now - self.configuration.lossCheckAge))
        }
        if !candidates.isEmpty {
            try await self.replayLost(candidates)
        }
        if suspect { self.state.withLock { $0.suspectLoss = false } }
    }

    private func confirmFlushed() async throws {
        let pending = self.state.withLock { $0.log.pendingIDs }
        guard !pending.isEmpty else { return }
        let flushed = try await self.batchIDs(
            "the flush confirmation", "SELECT batch_id FROM ingest_flushed_batches WHERE batch_id = ANY(\(pending)::bigint[])"
        )
        guard !flushed.isEmpty else { return }
        let backlog = self.state.withLock { state in
            for hold in state.log.flushed(flushed) {
                state.queue.release(tenant: hold.tenant, points: hold.points, bytes: hold.bytes)
            }
            return state.log.pendingPoints
        }
        self.metrics.backlog(backlog)
    }

    /// Stages again the batches that are neither flushed nor staged any more. One
    /// snapshot answers both, and a flush moves and records a batch atomically, so a
    /// batch it calls lost really is.
    private func replayLost(_ candidates: [Int64]) async throws {
        let lost = try await self.batchIDs(
            "the check for lost batches",
            """
            SELECT b FROM unnest(\(candidates)::bigint[]) AS b
             WHERE NOT EXISTS (SELECT 1 FROM ingest_flushed_batches f WHERE f.batch_id = b)
               AND NOT EXISTS (SELECT 1 FROM entity_values_ingest s WHERE s.batch_id = b)
            """
        )
        guard !lost.isEmpty else { return }
        let batches = self.state.withLock { $0.log.batches(lost) }
        for batch in batches {
            self.partitions.reset()
            try await self.replayLink.copy(batch.data)
            self.metrics.replayed()
            self.state.withLock { $0.replayedBatches += 1 }
            self.logger.warning("Replayed a batch the database lost", metadata: ["batch.id": "\(batch.id)", "batch.points": "\(batch.holds.reduce(0) { $0 + $1.points })"])
        }
    }

    /// The batch ids `query` answers on the primary, within the call deadline.
    private func batchIDs(_ what: String, _ query: PostgresQuery) async throws -> [Int64] {
        try await Deadline.run(within: self.configuration.callDeadline, what) {
            var ids = [Int64]()
            for try await id in try await self.primary.query(query, logger: self.logger).decode(Int64.self) { ids.append(id) }
            return ids
        }
    }

    /// Batches this server staged again after the database lost them.
    package var replayedBatches: Int { self.state.withLock { $0.replayedBatches } }

    /// Acknowledged points not yet confirmed flushed, on this server.
    package var unflushedPoints: Int { self.state.withLock { $0.log.pendingPoints } }
}
