import Logging
import PostgresNIO

/// How far a replica is behind, read on the replica itself.
package enum ReplicaLag {
    package struct Reading: Sendable, Equatable {
        /// Age of the newest heartbeat the replica has replayed.
        package var heartbeatMilliseconds: Double
        /// Age of the last replayed transaction (the cross-check); nil before any replay.
        package var replayMilliseconds: Double?
        /// The WAL position replayed so far; nil on a node that is not a standby.
        package var replayed: LogSequenceNumber?
    }

    /// nil when the node has no heartbeat yet.
    package static func read(_ connection: PostgresConnection, logger: Logger) async throws -> Reading? {
        let rows = try await connection.query(
            """
            SELECT (extract(epoch FROM clock_timestamp() - max(beat_at)) * 1000)::double precision,
                   (extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000)::double precision,
                   pg_last_wal_replay_lsn()::text
              FROM heartbeat
            """,
            logger: logger
        )
        for try await (heartbeat, replay, replayed) in rows.decode((Double?, Double?, String?).self) {
            guard let heartbeat else { return nil }
            return Reading(heartbeatMilliseconds: heartbeat, replayMilliseconds: replay, replayed: replayed.flatMap { LogSequenceNumber($0) })
        }
        return nil
    }
}
