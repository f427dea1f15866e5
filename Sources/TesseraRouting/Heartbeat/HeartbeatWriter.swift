import Logging
import PostgresNIO
import ServiceLifecycle
import TesseraCore

/// Writes the primary's heartbeat row every `interval` (~250 ms). A replica's lag
/// is how old the beat it has replayed is (`ReplicaLag`).
package struct HeartbeatWriter: Service {
    let primary: PostgresClient
    let node: String
    let interval: Duration
    let logger: Logger

    package init(primary: PostgresClient, node: String = "primary", interval: Duration = .milliseconds(250), logger: Logger) {
        self.primary = primary
        self.node = node
        self.interval = interval
        self.logger = logger
    }

    package func run() async throws {
        var sequence: Int64 = 0
        var failing = false
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            sequence += 1
            let current = sequence
            do {
                // A beat waits for no database that is away (a late beat is no use), and not
                // through a shutdown: the pool waits for a connection for as long as it is asked.
                try await cancelWhenGracefulShutdown {
                    try await Deadline.run(within: .seconds(2), "the heartbeat") { try await self.beat(current) }
                }
                if failing { self.logger.notice("Heartbeat restored") }
                failing = false
            } catch {
                if !failing {
                    self.logger.warning("Heartbeat write failed", metadata: ["error": "\(String(reflecting: error))"])
                }
                failing = true
            }
            let interval = self.interval
            _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// Writes one beat.
    package func beat(_ sequence: Int64) async throws {
        let beat: PostgresQuery = """
            INSERT INTO heartbeat (node, beat_at, seq) VALUES (\(self.node), clock_timestamp(), \(sequence))
            ON CONFLICT (node) DO UPDATE SET beat_at = EXCLUDED.beat_at, seq = EXCLUDED.seq
            """
        let logger = self.logger
        // Ended when the connection closes: a beat written to a closed connection is never answered.
        try await self.primary.withConnection { connection in
            try await ReadRouter.whileOpen(connection) { _ = try await connection.query(beat, logger: logger) }
        }
    }
}
