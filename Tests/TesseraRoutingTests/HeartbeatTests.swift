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
                for _ in 0..<1_200 {
                    fresh = try #require(try await replica.withConnection { try await ReplicaLag.read($0, logger: quietLogger) })
                    if fresh.heartbeatMilliseconds < 500 { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                if fresh.heartbeatMilliseconds >= 500 {
                    // What the replica's WAL receiver was doing, for the failure's reader.
                    let receiver = try await replica.query(
                        "SELECT coalesce((SELECT status || ' ' || coalesce(latest_end_lsn::text, '') FROM pg_stat_wal_receiver), 'no wal receiver')",
                        logger: quietLogger
                    )
                    for try await status in receiver.decode(String.self) { Issue.record("the replica's WAL receiver: \(status)") }
                }
                #expect(fresh.heartbeatMilliseconds < 500)
            }
        }
    }
}
