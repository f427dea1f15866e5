import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import Testing
import TesseraCache
import TesseraCore
import TesseraServer
import TesseraStore
import TesseraTestSupport

/// The read cache against a real Redis and a real PostgreSQL, through the API.
@Suite struct CacheTests {
    static func settings(_ url: RedisURL, entityTTL: Duration = .seconds(300), sliding: Bool = true) -> ServerDependencies.CacheSettings {
        // Each test's database numbers tenants and entities from 1: a namespace keeps their keys apart.
        // A generous command timeout: on a loaded CI machine a 200 ms one let a GET time out,
        // and the read that should have been a hit went to the database.
        .init(
            redis: .init(url: url, commandTimeout: .seconds(1)),
            cache: .init(
                entityTTL: entityTTL,
                slidingEntityTTL: sliding,
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
        _ body: @escaping @Sendable (any TestClientProtocol, ServerDependencies) async throws -> Void
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
            .post, "/v1/ingest?durability=\(durability)", key: tenant.key,
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

    @Test func entriesExpireAfterTheirTTL() async throws {
        let redis = try await TestRedis.url()
        try await Self.run(cache: Self.settings(redis, entityTTL: .seconds(1))) { client, _ in
            let tenant = try await Self.hotTenant(client)
            try await Self.write(client, tenant, entity: "brief", value: 1)
            _ = try await client.send(.get, "/v1/entities/brief", key: tenant.key)
            #expect(Self.source(try await client.send(.get, "/v1/entities/brief", key: tenant.key)) == "cache")
            try await Task.sleep(for: .milliseconds(1_300))
            #expect(Self.source(try await client.send(.get, "/v1/entities/brief", key: tenant.key)) == "primary")
        }
    }

    @Test func aHitRestartsAnEntrysTTL() async throws {
        let redis = try await TestRedis.url()
        try await Self.run(cache: Self.settings(redis, entityTTL: .seconds(2))) { client, _ in
            let tenant = try await Self.hotTenant(client)
            try await Self.write(client, tenant, entity: "popular", value: 1)
            #expect(Self.source(try await client.send(.get, "/v1/entities/popular", key: tenant.key)) == "primary")
            // Read every second for 3 s: past the 2 s TTL, each hit kept the entry.
            for _ in 0..<3 {
                try await Task.sleep(for: .seconds(1))
                #expect(Self.source(try await client.send(.get, "/v1/entities/popular", key: tenant.key)) == "cache")
            }
            // Unread for longer than the TTL: gone.
            try await Task.sleep(for: .milliseconds(2_500))
            #expect(Self.source(try await client.send(.get, "/v1/entities/popular", key: tenant.key)) == "primary")
        }
    }

    @Test func withAFixedTTLHitsDoNotKeepAnEntry() async throws {
        let redis = try await TestRedis.url()
        try await Self.run(cache: Self.settings(redis, entityTTL: .seconds(2), sliding: false)) { client, _ in
            let tenant = try await Self.hotTenant(client)
            try await Self.write(client, tenant, entity: "popular", value: 1)
            #expect(Self.source(try await client.send(.get, "/v1/entities/popular", key: tenant.key)) == "primary")
            try await Task.sleep(for: .seconds(1))
            #expect(Self.source(try await client.send(.get, "/v1/entities/popular", key: tenant.key)) == "cache")
            // 2.3 s after the miss that stored it, whatever the hit at 1 s.
            try await Task.sleep(for: .milliseconds(1_300))
            #expect(Self.source(try await client.send(.get, "/v1/entities/popular", key: tenant.key)) == "primary")
        }
    }

    @Test func oneTenantsEntriesAreNeverServedToAnother() async throws {
        let redis = try await TestRedis.url()
        try await Self.run(cache: Self.settings(redis)) { client, _ in
            let first = try await Self.hotTenant(client)
            let second = try await Self.hotTenant(client)
            try await Self.write(client, first, entity: "same", value: 1)
            try await Self.write(client, second, entity: "same", value: 2)
            let filter = #"{"filter": {"attribute": "temp", "op": "exists"}}"#
            for _ in 0..<2 {
                #expect(try Self.temp(try await client.send(.get, "/v1/entities/same", key: first.key)) == 1)
                #expect(try Self.temp(try await client.send(.get, "/v1/entities/same", key: second.key)) == 2)
                let firstFilter = try await client.send(.post, "/v1/query/entities", key: first.key, json: filter).object()
                let secondFilter = try await client.send(.post, "/v1/query/entities", key: second.key, json: filter).object()
                #expect(((firstFilter["entities"] as? [[String: Any]])?.first?["attributes"] as? [String: Any])?["temp"] as? Double == 1)
                #expect(((secondFilter["entities"] as? [[String: Any]])?.first?["attributes"] as? [String: Any])?["temp"] as? Double == 2)
            }
            // The second round came from the cache.
            #expect(Self.source(try await client.send(.get, "/v1/entities/same", key: second.key)) == "cache")
            #expect(Self.source(try await client.send(.post, "/v1/query/entities", key: second.key, json: filter)) == "cache")
        }
    }

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

    @Test func redisDyingCostsNoClientErrorsAndTheCacheComesBack() async throws {
        try await TestRedis.withPrivateRedis { cluster, url in
            // Over real connections: the handlers run on their event loops, with the Redis
            // connections there, as in a deployment.
            try await Self.run(cache: Self.settings(url), overHTTP: true) { client, dependencies in
                let tenant = try await Self.hotTenant(client)
                try await Self.write(client, tenant, entity: "dev-1", value: 3)
                _ = try await client.send(.get, "/v1/entities/dev-1", key: tenant.key)
                #expect(Self.source(try await client.send(.get, "/v1/entities/dev-1", key: tenant.key)) == "cache")
                let cache = try #require(dependencies.reads.cache)
                try await cluster.stop(component: "redis")
                var failures = 0
                for _ in 0..<40 {
                    let response = try await client.send(.get, "/v1/entities/dev-1", key: tenant.key)
                    if response.status != .ok || (try? Self.temp(response)) != 3 { failures += 1 }
                }
                #expect(failures == 0)
                #expect(cache.isBreakerOpen)
                // Writes go on while the cache is away.
                try await Self.write(client, tenant, entity: "dev-1", value: 4)
                _ = try await cluster.up()
                var resumed = false
                for _ in 0..<100 where !resumed {
                    let response = try await client.send(.get, "/v1/entities/dev-1", key: tenant.key)
                    #expect(response.status == .ok)
                    #expect(try Self.temp(response) == 4)
                    resumed = Self.source(response) == "cache"
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(resumed, "hits never resumed after Redis came back")
                #expect(!cache.isBreakerOpen)
            }
        }
    }
}
