import Foundation

/// Drives one operation against a peer system (SQL or HTTP, whatever `operation`
/// does) from concurrent clients for a fixed time and keeps every latency, the way
/// `ReadBenchRunner` does for Tessera's HTTP API. An operation that throws counts
/// as a failure (a statement timeout, say) and its time is not a sample.
struct PeerRunner {
    struct Result {
        var latencies: LatencySummary
        var failures: Int
        var firstFailure: String?
        /// Every attempt failed: the peer could not answer this operation in time.
        var didNotFinish: Bool { self.latencies.count == 0 && self.failures > 0 }
    }

    var clients: Int
    var seconds: Double
    /// At most this many operations in all (the slow ones would otherwise take `seconds` × nothing).
    var maxOperations = Int.max

    func measure(
        _ name: String,
        warmup: Int = 1,
        _ operation: @escaping @Sendable (inout SplitMix64) async throws -> Void
    ) async -> Result {
        print("  \(name)...")
        var random = SplitMix64(seed: 1)
        for _ in 0..<warmup { try? await operation(&random) }
        let end = ContinuousClock.now + .milliseconds(Int(self.seconds * 1_000))
        let budget = self.maxOperations
        let clients = self.clients
        let parts = await withTaskGroup(of: ([Double], Int, String?).self) { group in
            for client in 0..<clients {
                group.addTask {
                    var random = SplitMix64(seed: 2_000 + UInt64(client))
                    var samples = [Double]()
                    var failures = 0
                    var first: String?
                    while ContinuousClock.now < end, samples.count + failures < max(1, budget / clients) {
                        let started = ContinuousClock.now
                        do {
                            try await operation(&random)
                            let took = ContinuousClock.now - started
                            samples.append(took.benchMilliseconds)
                        } catch {
                            failures += 1
                            if first == nil { first = String(String(reflecting: error).prefix(200)) }
                        }
                    }
                    return (samples, failures, first)
                }
            }
            return await group.reduce(into: [([Double], Int, String?)]()) { $0.append($1) }
        }
        let result = Result(
            latencies: LatencySummary(milliseconds: parts.flatMap(\.0)),
            failures: parts.reduce(0) { $0 + $1.1 },
            firstFailure: parts.compactMap(\.2).first
        )
        if result.didNotFinish {
            print("    did not finish: \(result.firstFailure ?? "?")")
        } else {
            let summary = result.latencies
            print(
                "    p50 \(IngestBenchCommand.ms(summary.p50)) ms, p95 \(IngestBenchCommand.ms(summary.p95)) ms, p99 \(IngestBenchCommand.ms(summary.p99)) ms (\(summary.count) operations\(result.failures > 0 ? ", \(result.failures) failed" : ""))"
            )
        }
        return result
    }
}
