import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Synchronization
import TesseraCore

/// The `fast` write path's driver. Requests hand over resolved rows and wait for their
/// acknowledgement; writers take groups from the bounded fair queue (whatever has
/// queued while the previous staging write ran, up to `maxGroupPoints`), sort them by key, stage
/// them into the UNLOGGED staging table as one batch (`synchronous_commit=off`) and
/// acknowledge. The flusher moves staged rows every 100 ms with `stage_flush()`.
///
/// All state (admission, in-flight groups, staged-not-flushed holds, suspected loss,
/// replay, drain) is one `IngestStateMachine` value behind one lock: this type feeds it
/// events and runs the actions it returns. The writers are in
/// `IngestPipeline+Writers.swift`, the flusher and replay in `IngestPipeline+Flusher.swift`,
/// the SQL in `StagingSQL.swift`.
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
        /// A database call of the write path (batch ids, partitions, the staging write, a
        /// flush) not answered within this is abandoned: its requests get a 503 they can
        /// retry instead of waiting on a driver that never answers.
        package var callDeadline: Duration
        /// How long settling a failed staging write's batch may take before its 503: it waits
        /// for a flush under way (a flush holds the lock it needs), and for a primary that
        /// restarts. Past it the 503 is given unsettled (see `settle`).
        package var settleDeadline: Duration
        /// How long a group whose staging failed because the database went away (not for
        /// its data) is staged again, under a new batch id, before its requests get a 503:
        /// a failover or a switchover is a slow acknowledgement, not an error.
        package var restagePatience: Duration
        /// Where a drain that timed out leaves the batches it could not see flushed, for the
        /// next start to settle (`UnflushedSpool`); nil: they are only logged.
        package var spoolDirectory: String?
        /// How many database sessions run each flush at once, each moving its part of the
        /// staged tenants (`stage_flush_part()`, migration 0038): a backlog drains on more
        /// than one core. 1 (the default) is one flush at a time: with two, the flush takes
        /// the core the server's staging writes need, and the p95 acknowledgement at a paced
        /// load rose by ~40% (BENCHMARKS.md, "Two flush sessions and the acknowledgement").
        package var flushSessions: Int

        package init(
            limits: IngestQueue<Pending>.Limits = .init(),
            writers: Int = 2,
            maxGroupPoints: Int = 20_000,
            flushInterval: Duration = .milliseconds(100),
            idleFlushInterval: Duration = .seconds(2),
            lossCheckAge: Duration = .seconds(2),
            drainTimeout: Duration = .seconds(30),
            callDeadline: Duration = .seconds(30),
            settleDeadline: Duration = .seconds(60),
            restagePatience: Duration = .seconds(20),
            spoolDirectory: String? = nil,
            flushSessions: Int = 1
        ) {
            self.flushSessions = max(1, flushSessions)
            self.restagePatience = restagePatience
            self.spoolDirectory = spoolDirectory
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

        var machine: IngestStateMachine<Pending>.Configuration {
            .init(
                maxGroupPoints: self.maxGroupPoints,
                flushInterval: self.flushInterval,
                idleFlushInterval: self.idleFlushInterval,
                lossCheckAge: self.lossCheckAge,
                drainTimeout: self.drainTimeout
            )
        }
    }

    /// One request's rows waiting for their batch.
    package struct Pending: Sendable {
        var rows: [IngestRow]
        var continuation: CheckedContinuation<Staged, any Error>
    }

    /// How a request's rows were taken: staged in a batch, or (when PostgreSQL refused
    /// them at the staging write) kept in quarantine for an operator.
    package struct Staged: Sendable, Equatable {
        package var batchID: Int64
        package var quarantined: Bool
    }

    /// The state machine and the continuations of the writers it parked.
    struct Locked: Sendable {
        var machine: IngestStateMachine<Pending>
        var parkedWriters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    let configuration: Configuration
    /// One staging connection per writer, at `synchronous_commit=off`.
    let writerLinks: [StagingLink]
    /// The staging connection of the replay (run by the flusher).
    let replayLink: StagingLink
    /// Pool on the primary with synchronous commit, for flushes and checks.
    let primary: PostgresClient
    let partitions: PartitionGuard
    let clock: ServiceClock
    let logger: Logger
    let state: Mutex<Locked>
    /// Batches restored from the spool and not yet seen flushed.
    let spooled = Mutex<Set<Int64>>([])
    /// The staged batches this server's last flush with nothing of its own staged found
    /// (`leftBehind`): the next one moves those still staged.
    let seenStaged = Mutex<Set<Int64>>([])
    package let metrics: IngestMetrics

    /// Told what each committed flush changed.
    package let feed: ProjectionFeed

    package init(
        configuration: Configuration,
        stagingURL: DatabaseURL,
        primary: PostgresClient,
        partitions: PartitionGuard,
        feed: ProjectionFeed = ProjectionFeed(),
        metrics: IngestMetrics = IngestMetrics(),
        clock: ServiceClock = .continuous,
        logger: Logger
    ) throws {
        self.feed = feed
        self.metrics = metrics
        self.configuration = configuration
        self.writerLinks = try (0..<max(1, configuration.writers)).map { _ in
            try StagingLink(url: stagingURL, deadline: configuration.callDeadline, logger: logger)
        }
        // A replay abandoned at its deadline could still commit, and the next replay of the
        // same batch would store it twice: its deadline is far past any real staging write.
        self.replayLink = try StagingLink(url: stagingURL, deadline: .seconds(300), logger: logger)
        self.primary = primary
        self.partitions = partitions
        self.clock = clock
        self.logger = logger
        self.state = Mutex(Locked(machine: IngestStateMachine(configuration: configuration.machine, limits: configuration.limits, now: clock.now)))
    }

    // MARK: - Submitting

    /// Queues rows and returns once they are staged (the `fast` acknowledgement), with
    /// their batch id. Throws `rate_limited` when the tenant holds its share of the
    /// queue, `unavailable` when the queue is full, the server is draining or the
    /// database failed the staging write.
    ///
    /// This is the write path's one place of backpressure: with `patience` (a later
    /// chunk of a request whose earlier points were accepted), a full queue or a
    /// failed staging write is tried again every 100 ms until room comes or `patience` runs
    /// out, so a big body is slowed down rather than cut.
    package func submit(_ rows: [IngestRow], tenant: Int64, patience: Duration = .zero) async throws(TesseraError) -> Staged {
        guard !rows.isEmpty else { return Staged(batchID: 0, quarantined: false) }
        let deadline = self.clock.now.advanced(by: patience)
        while true {
            do {
                return try await self.submitOnce(rows, tenant: tenant)
            } catch  where error.code == .rateLimited || (error.code == .unavailable && !self.isDraining) {
                guard self.clock.now < deadline else { throw error }
                try? await self.clock.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Refuses a tenant's new request at once (429/503, as `submit` would) while the queue
    /// remembers being full for it, so the server neither reads nor resolves its body.
    package func precheck(tenant: Int64) throws(TesseraError) {
        guard let refusal = self.state.withLock({ $0.machine.precheck(tenant: tenant) }) else { return }
        self.metrics.refusedBeforeReading(reason: refusal.metricReason)
        throw self.refused(refusal, points: 0)
    }

    private func submitOnce(_ rows: [IngestRow], tenant: Int64) async throws(TesseraError) -> Staged {
        let bytes = rows.reduce(0) { $0 + 48 + $1.value.approximateBytes }
        do {
            return try await withCheckedThrowingContinuation { continuation in
                let (action, writer) = self.state.withLock { state -> (IngestStateMachine<Pending>.SubmitAction, CheckedContinuation<Void, Never>?) in
                    let action = state.machine.submit(
                        tenant: tenant,
                        points: rows.count,
                        bytes: bytes,
                        request: Pending(rows: rows, continuation: continuation)
                    )
                    guard case .enqueued(let wake?) = action else { return (action, nil) }
                    return (action, state.parkedWriters.removeValue(forKey: wake))
                }
                switch action {
                case .enqueued:
                    writer?.resume()
                case .refuse(let refusal):
                    continuation.resume(throwing: self.refused(refusal, points: rows.count))
                }
            }
        } catch let error as TesseraError {
            throw error
        } catch {
            throw TesseraError(.unavailable, "The points could not be staged; retry.")
        }
    }

    private func refused(_ refusal: IngestStateMachine<Pending>.Refusal, points: Int) -> TesseraError {
        switch refusal {
        case .shuttingDown:
            return TesseraError(.unavailable, "The server is shutting down; send the points to another server or retry.")
        case .overTenantShare:
            self.metrics.rejected(points, reason: "rate_limited")
            return TesseraError(.rateLimited, "This tenant has its full share of the write queue in flight; retry after a second.")
        case .saturated:
            self.metrics.rejected(points, reason: "saturated")
            return TesseraError(.unavailable, "The write queue is full; retry after a second.")
        }
    }

    // MARK: - Running

    package func run() async throws {
        self.restoreSpooled()
        await withTaskGroup(of: Void.self) { group in
            for (index, link) in self.writerLinks.enumerated() {
                group.addTask { await self.writeLoop(writer: index, link: link) }
            }
            group.addTask { await self.flushLoop() }
            await withGracefulShutdownHandler {
                await group.waitForAll()
            } onGracefulShutdown: {
                self.beginDrain()
            }
        }
        // Every writer and the flusher have stopped: what is still unconfirmed now is all of
        // it (a writer may have staged a group after the flusher's drain ended).
        if self.unflushedPoints > 0 || !self.spooled.withLock(\.isEmpty) { self.reportUnflushed() }
        for link in self.writerLinks + [self.replayLink] { await link.close() }
    }

    /// Stops accepting, lets writers empty the queue and the flusher confirm what was staged.
    private func beginDrain() {
        let now = self.clock.now
        let parked = self.state.withLock { state in
            state.machine.beginDrain(now: now).compactMap { state.parkedWriters.removeValue(forKey: $0) }
        }
        for writer in parked { writer.resume() }
    }

    // MARK: - What a stop leaves

    /// Holds again the batches an earlier run left in the spool; the flusher settles them.
    private func restoreSpooled() {
        guard let directory = self.configuration.spoolDirectory else { return }
        let spool = UnflushedSpool(directory: directory)
        do {
            let (batches, stale) = try spool.load()
            if !stale.isEmpty {
                self.logger.critical(
                    "Spooled batches too old to settle (the flush records are pruned after 24 h): stage them by hand if they were never stored",
                    metadata: ["files": "\(stale)"]
                )
            }
            guard !batches.isEmpty else { return }
            let now = self.clock.now
            self.state.withLock { state in
                for batch in batches { state.machine.restoreUnflushed(batch: batch.id, data: batch.data, at: now) }
            }
            self.spooled.withLock { $0.formUnion(batches.map(\.id)) }
            self.logger.warning(
                "Settling batches an earlier run left unflushed",
                metadata: ["batches": "\(batches.count)", "batch.ids": "\(batches.map(\.id))", "spool": "\(directory)"]
            )
        } catch {
            self.logger.error("The spool of unflushed batches could not be read", metadata: ["spool": "\(directory)", "error": "\(error)"])
        }
    }

    /// A drain that timed out: says which acknowledged batches were not seen flushed, and
    /// leaves them in the spool when there is one.
    func reportUnflushed() {
        let batches = self.state.withLock { $0.machine.unflushedBatches }
        let points = batches.reduce(0) { $0 + $1.holds.reduce(0) { $0 + $1.points } }
        var metadata: Logger.Metadata = ["batches": "\(batches.count)", "points": "\(points)", "batch.ids": "\(batches.map(\.id))"]
        guard let directory = self.configuration.spoolDirectory else {
            self.logger.error("Shutting down with acknowledged batches not confirmed flushed; no spool to keep them", metadata: metadata)
            return
        }
        metadata["spool"] = "\(directory)"
        do {
            try UnflushedSpool(directory: directory).keep(batches)
            self.logger.error("Shutting down with acknowledged batches not confirmed flushed; kept in the spool for the next start", metadata: metadata)
        } catch {
            metadata["error"] = "\(error)"
            self.logger.critical("Shutting down with acknowledged batches not confirmed flushed, and the spool could not keep them", metadata: metadata)
        }
    }

    /// Spooled batches confirmed flushed: their files go.
    func forgetSpooled(_ flushed: [Int64]) {
        guard let directory = self.configuration.spoolDirectory else { return }
        let done = self.spooled.withLock { spooled in
            let done = spooled.intersection(flushed)
            spooled.subtract(done)
            return done
        }
        if !done.isEmpty { UnflushedSpool(directory: directory).remove(done) }
    }

    // MARK: - Reading

    var isDraining: Bool { self.state.withLock { $0.machine.isDraining } }

    /// Batches this server staged again after the database lost them.
    package var replayedBatches: Int { self.state.withLock { $0.machine.replayedBatches } }

    /// Acknowledged points not yet confirmed flushed, on this server.
    package var unflushedPoints: Int { self.state.withLock { $0.machine.unflushedPoints } }

    /// Records the gauges that age between events (the flush lag and the queue); `/metrics`
    /// calls it before each scrape, so a stuck flusher shows a growing lag.
    package func refreshGauges() {
        let now = self.clock.now
        let (oldest, queued) = self.state.withLock { ($0.machine.oldestUnflushedAt, $0.machine.queuedPoints) }
        self.metrics.pending(oldestUnflushed: oldest.map { $0.duration(to: now) }, queuedPoints: queued)
    }
}
