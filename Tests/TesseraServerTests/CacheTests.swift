import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import TesseraCache
import TesseraCore
import TesseraServer
import TesseraStore
import TesseraTestSupport
import Testing

/// The read cache against a real Redis and a real PostgreSQL, through the API: which
/// reads the server answers from it, and what in the server tells it about changes.
/// The cache's own semantics (TTLs, keys per tenant, query slots, tombstones, its
/// breaker when Redis dies) are tested on `ReadCache` itself, in TesseraCacheTests.
@Suite struct CacheTests {
    static func settings(_ url: RedisURL) -> ServerDependencies.CacheSettings {
        // Each test's database numbers tenants and entities from 1: a namespace keeps their keys apart.
        // A generous command timeout: on a loaded CI machine a 200 ms one let a GET time out,
        // and the read that should have been a hit went to the database.
        .init(
            redis: .init(url: url, commandTimeout: .seconds(1)),
            cache: .init(
                breaker: .init(failureThreshold: 3, coolDown: .seconds(1)),
                namespace: "test-\(UUID().uuidString.prefix(8)):"
            )
        )
    }

    /// Each test gets a database of its own: a flush run by another test's server
    /// (they share the test cluster) would move this test's points without telling
    /// this test's cache, which no deployment does (its servers share one Redis).
    static func run(
        cache: ServerDependencies.CacheSettings,
        overHTTP: Bool = false,
        _ body: @escaping @Sendable (any TestClientProtocol, TestServerDependencies) async throws -> Void
    ) async throws {
        let database = try await TestCluster.freshDatabase()
        try await withTestClient(url: database) { client in
            _ = try await Migrator(client: client, logger: quietLogger).migrate()
        }
        try await APITester.run(primary: database, cache: cache, overHTTP: overHTTP, body)
    }

    static func source(_ response: TestResponse) -> String? {
        response.headers[HTTPField.Name("X-Tessera-Source")!]
    }

    static func temp(_ response: TestResponse) throws -> Double? {
        ((try response.object()["attributes"] as? [String: Any])?["temp"] as? [String: Any])?["value"] as? Double
    }

    static func write(_ client: any TestClientProtocol, _ tenant: Tenant, entity: String, value: Double, durability: String = "safe") async throws {
        let response = try await client.send(
            .post,
            "/v1/ingest?durability=\(durability)",
            key: tenant.key,
            json: #"{"points": [{"entity": "\#(entity)", "attribute": "temp", "value": \#(value)}]}"#
        )
        #expect(response.status == .ok, "\(response.text)")
    }

    static func hotTenant(_ client: any TestClientProtocol) async throws -> Tenant {
        let tenant = try await client.createTenant("cache")
        _ = try await client.send(.put, "/v1/attributes/temp", key: tenant.key, json: #"{"type":"decimal","hot":true}"#)
        return tenant
    }

    @Test(arguments: [false, true]) func aMissThenAHitAndStrongReadsBypassTheCache(overHTTP: Bool) async throws {
        let redis = try await TestRedis.url()
        try await Self.run(cache: Self.settings(redis), overHTTP: overHTTP) { client, _ in
            let tenant = try await Self.hotTenant(client)
            try await Self.write(client, tenant, entity: "dev-1", value: 20)
            let miss = try await client.send(.get, "/v1/entities/dev-1", key: tenant.key)
            #expect(Self.source(miss) == "primary")
            let hit = try await client.send(.get, "/v1/entities/dev-1", key: tenant.key)
            #expect(Self.source(hit) == "cache")
            #expect(try Self.temp(hit) == 20)
            let meta = try #require(try hit.object()["meta"] as? [String: Any])
            #expect(meta["source"] as? String == "cache")
            #expect(meta["consistency"] as? String == "eventual")
            #expect(try hit.object()["key"] as? String == "dev-1")
            #expect(Self.source(try await client.send(.get, "/v1/entities/dev-1?consistency=analytics", key: tenant.key)) == "cache")
            #expect(Self.source(try await client.send(.get, "/v1/entities/dev-1?consistency=strong", key: tenant.key)) == "primary")
        }
    }

    @Test(arguments: [false, true]) func anUpdateIsVisibleOnTheNextEventualReadAfterItsFlush(overHTTP: Bool) async throws {
        let redis = try await TestRedis.url()
        try await Self.run(cache: Self.settings(redis), overHTTP: overHTTP) { client, dependencies in
            let tenant = try await Self.hotTenant(client)
            try await Self.write(client, tenant, entity: "dev-1", value: 1)
            for round in 2...6 {
                _ = try await client.send(.get, "/v1/entities/dev-1", key: tenant.key)  // cached
                try await Self.write(client, tenant, entity: "dev-1", value: Double(round), durability: "fast")
                while dependencies.ingest.pipeline.unflushedPoints > 0 { try await Task.sleep(for: .milliseconds(20)) }
                let after = try await client.send(.get, "/v1/entities/dev-1", key: tenant.key)
                #expect(try Self.temp(after) == Double(round), "round \(round): served by \(Self.source(after) ?? "?")")
            }
            // A safe write is visible at once, and the cache fills again after it.
            try await Self.write(client, tenant, entity: "dev-1", value: 99)
            #expect(try Self.temp(try await client.send(.get, "/v1/entities/dev-1", key: tenant.key)) == 99)
            let again = try await client.send(.get, "/v1/entities/dev-1", key: tenant.key)
            #expect(Self.source(again) == "cache")
            #expect(try Self.temp(again) == 99)
        }
    }

    /// A graceful shutdown flushes what was staged and tells the cache: Redis outlives
    /// the pipeline's drain. Two servers share the database and Redis (a rolling
    /// deploy); the one that stops drains a point, and the one still serving must not
    /// answer the value that point replaced from its cache.
    @Test func theShutdownsDrainForgetsWhatItFlushed() async throws {
        let redis = try await TestRedis.url()
        let settings = Self.settings(redis)
        let database = try await TestCluster.freshDatabase()
        try await withTestClient(url: database) { client in
            _ = try await Migrator(client: client, logger: quietLogger).migrate()
        }
        // Neither server flushes on its own during the test: the stopping server's drain is
        // the one flush of the staged point.
        let drainOnly = IngestPipeline.Configuration(writers: 1, flushInterval: .seconds(3_600), idleFlushInterval: .seconds(3_600))
        try await APITester.run(ingest: drainOnly, primary: database, cache: settings) { staying, _ in
            let tenant = try await Self.hotTenant(staying)
            try await Self.write(staying, tenant, entity: "dev-1", value: 1)
            _ = try await staying.send(.get, "/v1/entities/dev-1", key: tenant.key)
            #expect(Self.source(try await staying.send(.get, "/v1/entities/dev-1", key: tenant.key)) == "cache")
            try await APITester.run(ingest: drainOnly, primary: database, cache: settings) { stopping, dependencies in
                try await Self.write(stopping, tenant, entity: "dev-1", value: 2, durability: "fast")
                #expect(dependencies.ingest.pipeline.unflushedPoints == 1)
            }
            let read = try await staying.send(.get, "/v1/entities/dev-1", key: tenant.key)
            #expect(try Self.temp(read) == 2, "served by \(Self.source(read) ?? "?")")
        }
    }

    /// The DELETE route announces the deletion to the cache (the tombstone itself is
    /// ReadCacheTests' business).
    @Test func aDeletedEntityIsNeverServedFromTheCache() async throws {
        let redis = try await TestRedis.url()
        try await Self.run(cache: Self.settings(redis)) { client, _ in
            let tenant = try await Self.hotTenant(client)
            try await Self.write(client, tenant, entity: "doomed", value: 5)
            _ = try await client.send(.get, "/v1/entities/doomed", key: tenant.key)
            #expect(Self.source(try await client.send(.get, "/v1/entities/doomed", key: tenant.key)) == "cache")
            #expect(try await client.send(.delete, "/v1/entities/doomed", key: tenant.key).status == .noContent)
            for _ in 0..<5 {
                try await client.send(.get, "/v1/entities/doomed", key: tenant.key).expectProblem("not_found", .notFound)
            }
        }
    }

    /// The query routes answer from the cache, store only what their source had seen,
    /// and a flush moves the tenant's query generation (the slots themselves are
    /// ReadCacheTests' business).
    @Test func queryResultsAreCachedUntilTheTenantWrites() async throws {
        let redis = try await TestRedis.url()
        try await Self.run(cache: Self.settings(redis)) { client, dependencies in
            let tenant = try await Self.hotTenant(client)
            try await Self.write(client, tenant, entity: "a", value: 30)
            let filter = #"{"filter": {"attribute": "temp", "op": ">", "value": 25}}"#
            let aggregate = #"{"attribute": "temp", "from": "2026-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z", "bucket": "366d", "fn": ["count"]}"#
            _ = try await client.send(.post, "/v1/query/entities", key: tenant.key, json: filter)
            _ = try await client.send(.post, "/v1/query/aggregate", key: tenant.key, json: aggregate)
            // The query results only change once the tenant's query generation has
            // moved, which needs some time past the change on a replica-less setup.
            try await Task.sleep(for: .milliseconds(100))
            _ = try await client.send(.post, "/v1/query/entities", key: tenant.key, json: filter)
            let cachedFilter = try await client.send(.post, "/v1/query/entities", key: tenant.key, json: filter)
            #expect(Self.source(cachedFilter) == "cache")
            try await Self.write(client, tenant, entity: "b", value: 40, durability: "fast")
            while dependencies.ingest.pipeline.unflushedPoints > 0 { try await Task.sleep(for: .milliseconds(20)) }
            let fresh = try await client.send(.post, "/v1/query/entities", key: tenant.key, json: filter).object()
            #expect((fresh["entities"] as? [[String: Any]])?.compactMap { $0["key"] as? String }.sorted() == ["a", "b"])
            let counted = try await client.send(.post, "/v1/query/aggregate?consistency=analytics", key: tenant.key, json: aggregate).object()
            #expect(((counted["buckets"] as? [[String: Any]])?.compactMap { $0["count"] as? Int }.reduce(0, +)) == 2)
        }
    }
}
