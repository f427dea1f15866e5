import AsyncHTTPClient
import Foundation
import Logging
import PostgresNIO
import TesseraCore
import TesseraStore

/// Replica lag as a reader sees it: every 100 ms, the primary's WAL insert position
/// is read, then each replica is polled (every millisecond) until it has replayed
/// that far; the wait is one sample. Measured while the ingest load runs.
enum ReplicaLagProbe {
    struct Outcome {
        var samples: [Double]
        var ingestedPoints: Int
        /// Seconds the ingest load ran, and when it ended.
        var elapsed: Double = 0
        var loadEnded: ContinuousClock.Instant = .now
        var summary: LatencySummary { LatencySummary(milliseconds: self.samples) }
    }

    static func duringIngest(
        primary: DatabaseURL,
        replicas: [DatabaseURL],
        http: HTTPClient,
        base: String,
        keys: [String],
        layout: BenchDataset,
        clients: Int,
        seconds: Int,
        logger: Logger
    ) async throws -> Outcome {
        guard !replicas.isEmpty else { return Outcome(samples: [], ingestedPoints: 0) }
        let bodies = layout.bodies(seed: 99)
        async let load = {
            let load = try await IngestBenchCommand.drive(http: http, base: base, bodies: bodies, keys: keys, clients: clients, seconds: seconds)
            return (load, ContinuousClock.now)
        }()
        let samples = try await PostgresClient.withRunning(url: primary, maximumConnections: 1, logger: logger) { primaryClient in
            try await withThrowingTaskGroup(of: [Double].self) { group in
                for replica in replicas {
                    group.addTask {
                        try await PostgresClient.withRunning(url: replica, maximumConnections: 1, logger: logger) { replicaClient in
                            var samples = [Double]()
                            let end = ContinuousClock.now + .seconds(seconds)
                            while ContinuousClock.now < end {
                                guard let target = try await CommitPosition.current(primaryClient, logger: logger) else { break }
                                let written = ContinuousClock.now
                                while true {
                                    let rows = try await replicaClient.query("SELECT pg_last_wal_replay_lsn() >= \(target)::pg_lsn", logger: logger)
                                    var replayed = false
                                    for try await value in rows.decode(Bool.self) { replayed = value }
                                    if replayed { break }
                                    try await Task.sleep(for: .milliseconds(1))
                                }
                                let waited = ContinuousClock.now - written
                                samples.append(waited.benchMilliseconds)
                                try await Task.sleep(for: .milliseconds(100))
                            }
                            return samples
                        }
                    }
                }
                return try await group.reduce(into: [Double]()) { $0 += $1 }
            }
        }
        let (ingested, ended) = try await load
        return Outcome(samples: samples, ingestedPoints: ingested.acknowledgedPoints, elapsed: ingested.elapsed, loadEnded: ended)
    }
}
