import Logging
import PostgresNIO
import ServiceLifecycle
import TesseraCore

/// Measures every non-primary node's lag and replay position, continuously (every
/// `interval`), and feeds them and the node's health to the router. It is also the
/// breakers' probe: a node whose breaker cooled down is looked at here first, and
/// its answer closes or reopens the breaker before client reads go there again.
///
/// Lag: a node that has replayed the primary's WAL position sampled just before
/// is 0 ms behind; otherwise it is the age of the newest heartbeat it replayed
/// minus one heartbeat interval (the beat is written every `heartbeatInterval`),
/// cross-checked against the age of its last replayed transaction.
package struct LagMonitor: Service {
    let router: ReadRouter
    let interval: Duration
    let heartbeatInterval: Duration
    let clock: ServiceClock
    let logger: Logger

    package init(
        router: ReadRouter,
        interval: Duration = .milliseconds(250),
        heartbeatInterval: Duration = .milliseconds(250),
        clock: ServiceClock = .continuous,
        logger: Logger
    ) {
        self.router = router
        self.clock = clock
        self.interval = interval
        self.heartbeatInterval = heartbeatInterval
        self.logger = logger
    }

    package func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await self.tick()
            let interval = self.interval
            _ = try? await cancelWhenGracefulShutdown { try await self.clock.sleep(for: interval) }
        }
    }

    /// One round: the primary's position, then every other node, concurrently.
    package func tick() async {
        let primaryPosition = try? await self.router.withLease(on: self.router.primary) { connection in
            try await Self.currentPosition(connection, logger: self.logger)
        }
        await withTaskGroup(of: Void.self) { group in
            for node in self.router.nodes where node.role != .primary {
                group.addTask { await self.check(node, primaryPosition: primaryPosition ?? nil) }
            }
        }
    }

    func check(_ node: ReadNode, primaryPosition: LogSequenceNumber?) async {
        guard self.router.breakerDecision(node.name) != .reject else { return }
        do {
            let reading = try await self.router.withLease(on: node) { connection in
                try await ReplicaLag.read(connection, logger: self.logger)
            }
            self.router.recordSuccess(node.name)
            self.router.recordLag(node.name, lagMilliseconds: self.lag(of: reading, primaryPosition: primaryPosition), replayed: reading?.replayed)
        } catch {
            switch NodeFailure.classify(error) {
            case .nodeDown:
                self.router.recordFailure(node.name)
                self.router.recordLag(node.name, lagMilliseconds: nil, replayed: nil)
            case .retryElsewhere, .query:
                // Reachable but without a heartbeat (an analytics node that is not a
                // replica of the primary): healthy, lag unknown.
                self.router.recordSuccess(node.name)
                self.router.recordLag(node.name, lagMilliseconds: nil, replayed: nil)
            }
        }
    }

    func lag(of reading: ReplicaLag.Reading?, primaryPosition: LogSequenceNumber?) -> Double? {
        guard let reading else { return nil }
        if let primaryPosition, let replayed = reading.replayed, replayed >= primaryPosition {
            return 0
        }
        let beat =
            Double(self.heartbeatInterval.components.seconds) * 1_000
            + Double(self.heartbeatInterval.components.attoseconds) / 1e15
        var lag = max(0, reading.heartbeatMilliseconds - beat)
        if let replay = reading.replayMilliseconds {
            // A replica that replayed a transaction recently cannot be further
            // behind than the time since its last replayed heartbeat suggests,
            // but a stalled one has both ages growing: take the smaller.
            lag = min(lag, max(0, replay))
        }
        return lag
    }

    static func currentPosition(_ connection: PostgresConnection, logger: Logger) async throws -> LogSequenceNumber? {
        let rows = try await connection.query("SELECT pg_current_wal_lsn()::text", logger: logger)
        for try await text in rows.decode(String.self) {
            return LogSequenceNumber(text)
        }
        return nil
    }
}
