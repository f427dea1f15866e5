import Foundation
import PostgresNIO
import TesseraCore
import TesseraLocal
import TesseraRouting
import TesseraStore
import TesseraTestSupport
import Testing

/// The heartbeat written on a real primary and read on a real streaming replica.
@Suite struct HeartbeatTests {
    @Test func aReplicasLagIsReadFromTheReplayedHeartbeat() async throws {
        let directory = NSTemporaryDirectory() + "tessera-heartbeat-\(UUID().uuidString.prefix(8))"
        defer {
            LocalCluster.stopNow(directory: directory)
            try? FileManager.default.removeItem(atPath: directory)
        }
        let status = try await LocalCluster(configuration: .init(directory: directory, profile: .test, replicas: 1), logger: quietLogger).up()
        let primaryURL = try DatabaseURL(parsing: try #require(status.primary).url)
        let replicaURL = try DatabaseURL(parsing: try #require(status.components.first { $0.role == "replica" }).url)
        try await withTestClient(url: primaryURL) { primary in
            _ = try await Migrator(client: primary, logger: quietLogger).migrate()
            let writer = HeartbeatWriter(primary: primary, logger: quietLogger)
            try await writer.beat(1)
            try await withTestClient(url: replicaURL) { replica in
                var reading: ReplicaLag.Reading?
                for _ in 0..<100 {
                    reading = try await replica.withConnection { try await ReplicaLag.read($0, logger: quietLogger) }
                    if reading != nil { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                let first = try #require(reading, "the replica never saw a heartbeat")
                #expect(first.heartbeatMilliseconds >= 0)
                // Beats stop: the lag read on the replica grows with time.
                try await Task.sleep(for: .milliseconds(600))
                let later = try #require(try await replica.withConnection { try await ReplicaLag.read($0, logger: quietLogger) })
                #expect(later.heartbeatMilliseconds >= first.heartbeatMilliseconds + 500)
                // A fresh beat brings it back down.
                try await writer.beat(2)
                var fresh = later
                // Up to 60 s: under the whole suite on two cores, replay has once taken over 5 s,
                // and once a fresh beat was still not replayed 20 s after it was written.
                // A beat every 5 s meanwhile, as the server writes them: each one is fresh WAL to replay.
                for attempt in 0..<1_200 {
                    fresh = try #require(try await replica.withConnection { try await ReplicaLag.read($0, logger: quietLogger) })
                    if fresh.heartbeatMilliseconds < 500 { break }
                    if attempt % 100 == 99 { try await writer.beat(Int64(3 + attempt / 100)) }
                    try await Task.sleep(for: .milliseconds(50))
                }
                if fresh.heartbeatMilliseconds >= 500 {
                    // Where the primary's WAL is, and what the replica received, replayed, and was doing.
                    let written = try await primary.query("SELECT pg_current_wal_lsn()::text", logger: quietLogger)
                    for try await lsn in written.decode(String.self) { Issue.record("the primary's WAL: \(lsn)") }
                    let receiver = try await replica.query(
                        """
                        SELECT coalesce((SELECT status || ' ' || coalesce(latest_end_lsn::text, '') FROM pg_stat_wal_receiver), 'no wal receiver')
                               || ', received ' || coalesce(pg_last_wal_receive_lsn()::text, '-') || ', replayed ' || coalesce(pg_last_wal_replay_lsn()::text, '-')
                               || ', paused ' || pg_is_wal_replay_paused()::text
                               || ', conflicts ' || (SELECT sum(confl_lock + confl_snapshot + confl_bufferpin + confl_deadlock)::text FROM pg_stat_database_conflicts)
                        """,
                        logger: quietLogger
                    )
                    for try await status in receiver.decode(String.self) { Issue.record("the replica's WAL receiver: \(status)") }
                }
                #expect(fresh.heartbeatMilliseconds < 500)
            }
        }
    }
}
