import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TesseraServer

/// Drives one read operation from concurrent clients for a fixed time and keeps
/// every latency: end to end over HTTP, and the database time the server reports
/// in `Server-Timing`.
struct ReadBenchRunner {
    typealias Request = (method: HTTPMethod, path: String, body: String?, tenant: Int)

    struct Result {
        var name: String
        var total: LatencySummary
        var database: LatencySummary
        var sources: [String: Int]
        /// End-to-end latencies by where the answer came from (`X-Tessera-Source`).
        var bySource: [String: LatencySummary]
        var failures: Int
        var firstFailure: String?

        var line: String {
            let served = self.sources.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            let failed = self.failures > 0 ? " — \(self.failures) FAILED (\(self.firstFailure ?? "?"))" : ""
            return "\(self.name) | \(self.total.count) | \(IngestBenchCommand.ms(self.total.p50)) | \(IngestBenchCommand.ms(self.total.p95)) | "
                + "\(IngestBenchCommand.ms(self.total.p99)) | \(String(format: "%.2f", self.database.p50)) | \(String(format: "%.2f", self.database.p95)) | \(served)\(failed)"
        }
    }

    let http: HTTPClient
    let base: String
    let keys: [String]
    let dataset: ReadBenchDataset
    let clients: Int
    let seconds: Int

    func measure(_ name: String, warmup: Duration = .milliseconds(300), _ next: @escaping @Sendable (inout SplitMix64) -> Request) async throws -> Result {
        print("  \(name)...")
        // Unmeasured requests first, to warm connections, plans (and caches).
        _ = try await self.drive(next, duration: warmup, seed: 1)
        var result = try await self.drive(next, duration: .seconds(self.seconds), seed: 2)
        result.name = name
        print(
            "    p50 \(IngestBenchCommand.ms(result.total.p50)) ms, p95 \(IngestBenchCommand.ms(result.total.p95)) ms, p99 \(IngestBenchCommand.ms(result.total.p99)) ms, db p95 \(String(format: "%.2f", result.database.p95)) ms"
        )
        return result
    }

    private func drive(_ next: @escaping @Sendable (inout SplitMix64) -> Request, duration: Duration, seed: UInt64) async throws -> Result {
        let end = ContinuousClock.now + duration
        struct Partial {
            var total = [Double]()
            var database = [Double]()
            var sources = [String: Int]()
            var bySource = [String: [Double]]()
            var failures = 0
            var firstFailure: String?
        }
        let loops = Array(self.http.eventLoopGroup.makeIterator())
        let merged = try await withThrowingTaskGroup(of: Partial.self) { group in
            for client in 0..<self.clients {
                // Each client runs on one of the HTTP client's event loops, as an event-driven
                // load generator does: its request is written and its answer read on that
                // thread, so the latency is the server's and the wire's, not thread wake-ups
                // inside the client.
                group.addTask(executorPreference: EventLoopTaskExecutor.on(loops[client % loops.count])) {
                    var random = SplitMix64(seed: seed * 1_000 + UInt64(client))
                    var partial = Partial()
                    while ContinuousClock.now < end {
                        let request = next(&random)
                        var outgoing = HTTPClientRequest(url: self.base + request.path)
                        outgoing.method = request.method
                        outgoing.headers.add(name: "Authorization", value: "Bearer \(self.keys[request.tenant])")
                        if let body = request.body {
                            outgoing.headers.add(name: "Content-Type", value: "application/json")
                            outgoing.body = .bytes(ByteBuffer(string: body))
                        }
                        let sent = ContinuousClock.now
                        let response = try await self.http.execute(outgoing, timeout: .seconds(120))
                        let body = try await response.body.collect(upTo: 64 << 20)
                        let took = ContinuousClock.now - sent
                        let milliseconds = took.benchMilliseconds
                        partial.total.append(milliseconds)
                        if let timing = response.headers.first(name: "Server-Timing"), let value = timing.split(separator: "=").last.flatMap({ Double($0) }) {
                            partial.database.append(value)
                        }
                        let source = response.headers.first(name: "X-Tessera-Source") ?? "?"
                        partial.sources[source, default: 0] += 1
                        partial.bySource[source, default: []].append(milliseconds)
                        // A lookup of an entity the dataset lacks is a 404, an answer all the same.
                        if response.status != .ok && response.status != .notFound {
                            partial.failures += 1
                            if partial.firstFailure == nil { partial.firstFailure = "\(response.status.code) \(String(buffer: body).prefix(200))" }
                        }
                    }
                    return partial
                }
            }
            return try await group.reduce(into: Partial()) { total, partial in
                total.total += partial.total
                total.database += partial.database
                total.sources.merge(partial.sources, uniquingKeysWith: +)
                total.bySource.merge(partial.bySource, uniquingKeysWith: +)
                total.failures += partial.failures
                total.firstFailure = total.firstFailure ?? partial.firstFailure
            }
        }
        return Result(
            name: "",
            total: LatencySummary(milliseconds: merged.total),
            database: LatencySummary(milliseconds: merged.database),
            sources: merged.sources,
            bySource: merged.bySource.mapValues { LatencySummary(milliseconds: $0) },
            failures: merged.failures,
            firstFailure: merged.firstFailure
        )
    }
}
