import Foundation
import HTTPTypes
import HummingbirdTesting
import TesseraStore
import Testing

/// How the write pipeline's refusals reach an HTTP client (the pipeline's own behaviour,
/// under a flood or a database crash, is tested in TesseraStoreTests): a tenant over its
/// share of the queue gets a 429 `rate_limited`, a full queue a 503 `unavailable`, both
/// problem documents with Retry-After, so clients back off and retry; never a 500.
@Suite struct IngestRefusalTests {
    @Test func theQueuesRefusalsAreA429AndA503WithRetryAfter() async throws {
        // Ten points in all, five per tenant; no flush is due while the test runs, so
        // what is staged keeps its capacity.
        let limits = IngestQueue<IngestPipeline.Pending>.Limits(maxPoints: 10, maxBytes: 64 << 20, tenantShare: 0.5, quantum: 1_000)
        let ingest = IngestPipeline.Configuration(limits: limits, writers: 1, flushInterval: .seconds(600), idleFlushInterval: .seconds(600))
        try await APITester.run(ingest: ingest) { client in
            let first = try await client.createTenant("share")
            let second = try await client.createTenant("full")
            #expect(try await client.send(.post, "/v1/ingest", key: first.key, json: Self.body(points: 4)).status == .ok)

            let overShare = try await client.send(.post, "/v1/ingest", key: first.key, json: Self.body(points: 4))
            try overShare.expectProblem("rate_limited", .tooManyRequests)
            #expect(overShare.headers[.retryAfter] != nil)

            let full = try await client.send(.post, "/v1/ingest", key: second.key, json: Self.body(points: 7))
            try full.expectProblem("unavailable", .serviceUnavailable)
            #expect(full.headers[.retryAfter] != nil)
        }
    }

    /// A JSON ingest body of `points` int points, one entity each.
    static func body(points: Int) -> String {
        #"{"points":["# + (0..<points).map { #"{"entity":"e-\#($0)","attribute":"v","value":\#($0)}"# }.joined(separator: ",") + "]}"
    }
}
