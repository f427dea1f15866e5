import Logging
import NIOCore
import PostgresNIO
import TesseraCore

/// The writers: each takes a group of queued requests, stages it as one batch with one
/// INSERT on its own connection, and answers the requests: staged, quarantined or 503.
extension IngestPipeline {
    typealias Entry = IngestQueue<Pending>.Entry

    /// A staging write PostgreSQL refused for its data: no retry of these rows can succeed.
    struct DataRefusal: Error {
        var sqlState: String
        var message: String
        var batchID: Int64
        var data: ByteBuffer
    }

    func writeLoop(writer: Int, link: StagingLink) async {
        while let group = await self.nextGroup(writer: writer) {
            await self.write(group, link: link)
            self.state.withLock { $0.machine.groupDone() }
        }
    }

    /// Stages one group: answered staged, quarantined, or (once `restagePatience` has
    /// passed with the database away) 503.
    private func write(_ group: [Entry], link: StagingLink) async {
        let giveUp = self.clock.now.advanced(by: self.configuration.restagePatience)
        var pause = Duration.milliseconds(100)
        while true {
            do {
                try await self.stage(group, link: link)
            } catch let refusal as DataRefusal where group.count > 1 {
                // One request's rows must not cost the others theirs: each is staged on its
                // own, and only those PostgreSQL still refuses go to quarantine.
                self.logger.warning(
                    "A staging write was refused on data; staging its requests one by one",
                    metadata: [
                        "batch.requests": "\(group.count)", "sqlstate": "\(refusal.sqlState)",
                    ]
                )
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
                // Not staged (fenced if it was sent), and not for its data: the primary went
                // away. Once there is one again (a restart, a failover) the group is staged
                // under a new batch id; past the patience, its requests get a 503.
                // A drain ends the patience at its own end: what is not staged by then gets
                // its 503 (not stored), and the shutdown stays bounded.
                let now = self.clock.now
                let drainEnds = self.state.withLock { $0.machine.drainTimeLeft(now: now) }.map { now.advanced(by: $0) }
                guard now < min(giveUp, drainEnds ?? giveUp), !Task.isCancelled else {
                    self.fail(group, error)
                    return
                }
                self.state.withLock { $0.machine.stagingInterrupted() }
                self.logger.warning(
                    "Staging failed; staging the group again",
                    metadata: ["batch.points": "\(group.reduce(0) { $0 + $1.points })", "retry.in": "\(pause)", "error": "\(String(reflecting: error))"]
                )
                try? await self.clock.sleep(for: pause)
                pause = min(pause * 2, .seconds(1))
                continue
            }
            return
        }
    }

    /// The writer's next group, waiting parked while there is none; nil once draining
    /// has emptied the queue.
    private func nextGroup(writer: Int) async -> [Entry]? {
        while true {
            var action = IngestStateMachine<Pending>.WriterAction.park
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                // Parked and its continuation kept under one lock: a `submit` in between
                // cannot wake a writer that is not listening yet.
                action = self.state.withLock { state in
                    let action = state.machine.writerIsFree(writer)
                    if case .park = action { state.parkedWriters[writer] = continuation }
                    return action
                }
                if case .park = action { return }
                continuation.resume()
            }
            switch action {
            case .stage(let group): return group
            case .stop: return nil
            case .park: continue
            }
        }
    }

    /// Stages the entries' rows with one INSERT and acknowledges them, each tenant's rows
    /// as a batch of its own: a batch holds one tenant, so a flush in several sessions moves
    /// and marks whole batches (migration 0038). Throws `DataRefusal` when PostgreSQL
    /// refused the rows, any other error when they were not staged.
    private func stage(_ entries: [Entry], link: StagingLink) async throws {
        var rows = [IngestRow]()
        rows.reserveCapacity(entries.reduce(0) { $0 + $1.points })
        // Requests in queue order: a point written twice keeps its later value.
        for entry in entries { rows.append(contentsOf: entry.item.rows) }
        let sorted = StagingEncoder.prepare(rows)
        // A group with no rows at all (as before) is still one batch: its holds are kept until flushed.
        let runs = StagingEncoder.tenantRuns(sorted)
        let tenants = runs.isEmpty ? [(tenant: entries[0].tenant, rows: 0..<0)] : runs
        let started = self.clock.now
        let batchIDs = try await Deadline.run(within: self.configuration.callDeadline, "the batch ids and partitions") {
            try await self.partitions.ensure(for: sorted)
            var ids = [Int64]()
            for _ in tenants { ids.append(try await self.nextBatchID()) }
            return ids
        }
        var batches = [(tenant: Int64, id: Int64, data: ByteBuffer)]()
        var data = ByteBufferAllocator().buffer(capacity: sorted.count * 96)
        for (run, id) in zip(tenants, batchIDs) {
            var part = StagingEncoder.encode(sorted[run.rows], batchID: id)
            batches.append((run.tenant, id, part))
            data.writeBuffer(&part)
        }
        do {
            try await link.stage(data)
        } catch let failure as StagingLink.Failure {
            if let state = DatabaseErrors.sqlState(of: failure.underlying), DatabaseErrors.isDataError(state) {
                // PostgreSQL answered with an error: the write was aborted, nothing committed.
                let message = (failure.underlying as? PSQLError)?.serverInfo?[.message] ?? "refused"
                throw DataRefusal(sqlState: state, message: message, batchID: batchIDs[0], data: data)
            }
            // Acknowledged after all if PostgreSQL committed it, else fenced: a 503
            // must mean not stored, or the client's retry would store it twice.
            guard failure.sent, try await self.settle(batchIDs: batchIDs) else {
                self.logger.error(
                    "Staging write failed",
                    metadata: [
                        "batch.points": "\(sorted.count)", "batch.ids": "\(batchIDs)", "error": "\(String(reflecting: failure))",
                    ]
                )
                throw failure
            }
            self.logger.warning("A staging write reported failure but was committed; acknowledged", metadata: ["batch.ids": "\(batchIDs)"])
        }
        let now = self.clock.now
        // Each entry is held by, and told, its tenant's batch (the first batch for a group without rows).
        let batchOf = Dictionary(batches.map { ($0.tenant, $0.id) }, uniquingKeysWith: { first, _ in first })
        let batchID = { (entry: Entry) in batchOf[entry.tenant] ?? batchIDs[0] }
        let pending = self.state.withLock { state in
            var pending = 0
            for batch in batches {
                pending = state.machine.staged(entries.filter { batchID($0) == batch.id }, batch: batch.id, data: batch.data, at: now)
            }
            return pending
        }
        self.metrics.staged(points: sorted.count, duration: started.duration(to: now), backlog: pending)
        for entry in entries { entry.item.continuation.resume(returning: Staged(batchID: batchID(entry), quarantined: false)) }
    }

    /// Answers the entries' requests with a 503: their rows were not stored.
    private func fail(_ entries: [Entry], _ error: any Error) {
        if !(error is StagingLink.Failure) {
            self.logger.error(
                "Staging failed",
                metadata: [
                    "batch.points": "\(entries.reduce(0) { $0 + $1.points })", "error": "\(String(reflecting: error))",
                ]
            )
        }
        self.state.withLock { $0.machine.stagingFailed(entries) }
        self.metrics.rejected(entries.reduce(0) { $0 + $1.points }, reason: "staging_failed")
        let failure = TesseraError(.unavailable, "The database did not take the points; they were not stored. Retry.")
        for entry in entries { entry.item.continuation.resume(throwing: failure) }
    }

    /// Keeps the rows of one request PostgreSQL refused at the staging write in
    /// `ingest_quarantine` (as the COPY text, for `tessera quarantine replay`), and
    /// acknowledges them as quarantined; a 503 when even that fails.
    private func quarantine(_ entry: Entry, _ refusal: DataRefusal) async {
        do {
            let query = StagingSQL.quarantine(
                tenant: entry.tenant,
                batchID: refusal.batchID,
                data: refusal.data,
                rows: entry.points,
                sqlState: refusal.sqlState,
                reason: "the staging write failed: " + refusal.message
            )
            try await Deadline.run(within: self.configuration.callDeadline, "quarantining a refused batch") {
                try await TenantScope.transaction(tenant: entry.tenant, on: self.primary, logger: self.logger) { connection in
                    _ = try await connection.query(query, logger: self.logger)
                }
            }
        } catch {
            self.fail([entry], error)
            return
        }
        self.logger.error(
            "A request's points were refused by the staging write; kept in quarantine",
            metadata: [
                "tenant.id": "\(entry.tenant)", "batch.id": "\(refusal.batchID)", "batch.points": "\(entry.points)", "sqlstate": "\(refusal.sqlState)",
            ]
        )
        self.state.withLock { $0.machine.quarantined(entry) }
        self.metrics.quarantined(entry.points)
        entry.item.continuation.resume(returning: Staged(batchID: refusal.batchID, quarantined: true))
    }

    /// After a staging write failed or was abandoned (PostgreSQL may still hold its rows
    /// and commit them): true when its batches (one a tenant, committed together or not at
    /// all) were committed, staged or flushed, and are to be acknowledged; false when they
    /// were not, and are now fenced: a flush drops their rows, whenever they commit
    /// (migrations 0007, 0038). Throws when the primary does not
    /// answer within the configuration's `settleDeadline`; the batch is then answered as not stored, as
    /// before this check, which is true unless that write commits after all.
    package func settle(batchIDs: [Int64]) async throws -> Bool {
        let logger = self.logger
        return try await Deadline.run(within: self.configuration.settleDeadline, "settling a failed staging write") {
            // The lock wait ends on the server before the deadline here: no settling goes on
            // after its request was answered.
            let deadline = self.configuration.settleDeadline.components
            let waitMilliseconds = Int32(clamping: max(100, deadline.seconds * 1_000 + deadline.attoseconds / 1_000_000_000_000_000 - 2_000))
            let rows = try await self.primary.liveQuery(StagingSQL.settle(batchIDs, waitMilliseconds: waitMilliseconds), logger: logger)
            for try await committed in rows.decode(Bool.self) { return committed }
            throw TesseraError(.unavailable, "settle_staged_batches() answered no row.")
        }
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
            switch self.state.withLock({ $0.machine.takeBatchID() }) {
            case .use(let id, let skipped):
                for id in skipped {
                    self.logger.error("The batch id sequence went back to an id still held; skipping it", metadata: ["batch.id": "\(id)"])
                }
                return id
            case .fetchBlock:
                var block = [Int64]()
                for try await id in try await self.primary.liveQuery(StagingSQL.nextBatchIDs, logger: self.logger).decode(Int64.self) {
                    block.append(id)
                }
                self.state.withLock { $0.machine.addBatchIDs(block) }
            }
        }
        throw TesseraError(.unavailable, "No batch id.")
    }
}
