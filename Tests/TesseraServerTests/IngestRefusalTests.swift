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
        try await APITester.run(ingest: Self.tenPoints) { client in
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

    @Test func whileTheQueueIsFullANewRequestIsRefusedBeforeItsBodyIsRead() async throws {
        try await APITester.run(ingest: Self.tenPoints) { client in
            let first = try await client.createTenant("fills-a")
            let second = try await client.createTenant("fills-b")
            let third = try await client.createTenant("comes-late")
            #expect(try await client.send(.post, "/v1/ingest", key: first.key, json: Self.body(points: 5)).status == .ok)
            #expect(try await client.send(.post, "/v1/ingest", key: second.key, json: Self.body(points: 5)).status == .ok)

            // The queue is full: this request is read and its entity resolved (created)
            // before its points are refused.
            let refusedByItsPoints = try await client.send(.post, "/v1/ingest", key: third.key, json: Self.body(points: 1, prefix: "read"))
            try refusedByItsPoints.expectProblem("unavailable", .serviceUnavailable)
            #expect(try await client.send(.get, "/v1/entities/read-0", key: third.key).status == .ok)

            // Remembered: the next request is refused before its body is read, so nothing
            // of it is created, and a body that is not even JSON gets the same 503.
            let refusedUpFront = try await client.send(.post, "/v1/ingest", key: third.key, json: Self.body(points: 1, prefix: "unread"))
            try refusedUpFront.expectProblem("unavailable", .serviceUnavailable)
            #expect(refusedUpFront.headers[.retryAfter] != nil)
            #expect(try await client.send(.get, "/v1/entities/unread-0", key: third.key).status == .notFound)
            try await client.send(.post, "/v1/ingest", key: third.key, json: "not json").expectProblem("unavailable", .serviceUnavailable)
            // So is a line-protocol write.
            let influx = try await client.send(.post, "/write?db=x", key: third.key, json: "m,entity=late v=1", contentType: "text/plain")
            #expect(influx.status == .serviceUnavailable)
        }
    }

    /// Ten points in all, five per tenant; no flush is due while a test runs, so what is
    /// staged keeps its capacity.
    static let tenPoints = IngestPipeline.Configuration(
        limits: .init(maxPoints: 10, maxBytes: 64 << 20, tenantShare: 0.5, quantum: 1_000),
        writers: 1,
        flushInterval: .seconds(600),
        idleFlushInterval: .seconds(600)
    )

    /// A JSON ingest body of `points` int points, one entity each.
    static func body(points: Int, prefix: String = "e") -> String {
        #"{"points":["# + (0..<points).map { #"{"entity":"\#(prefix)-\#($0)","attribute":"v","value":\#($0)}"# }.joined(separator: ",") + "]}"
    }
}
