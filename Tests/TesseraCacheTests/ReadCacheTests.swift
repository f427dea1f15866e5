import Foundation
import NIOCore
import TesseraCache
import TesseraCore
import TesseraLocal
import TesseraTestSupport
import Testing

/// The read cache's own semantics, driven directly against a real Redis: TTLs,
/// keys per tenant, query slots per change, tombstones, and the breaker when Redis
/// dies. What the server does with it (which reads may use it, what announces a
/// change) is in TesseraServerTests' CacheTests.
///
/// TTLs are kept by Redis, in real time: they are short here, and every wait leaves
/// at least a second of slack for a loaded machine.
@Suite struct ReadCacheTests {
    @Test func entriesExpireAfterTheirTTL() async throws {
        let configuration = ReadCache.Configuration(entityTTL: .seconds(4), slidingEntityTTL: false, queryTTL: .seconds(4))
        try await Self.withCache(configuration) { cache, redis in
            try await Self.store(cache, redis, tenant: 1, entity: 1, "brief")
            let (_, slot) = await cache.query(tenant: 1, kind: "filter", normalized: Self.query)
            await cache.storeQuery(try #require(slot), document: Self.document("result"), lagMilliseconds: 0, nowMicros: Self.nowMicros())
            let ttl = try await Self.pttl(redis, Self.entityKey(cache, tenant: 1, entity: 1))
            #expect((1...4_000).contains(ttl), "\(ttl) ms left")
            #expect(Self.text(await cache.entity(tenant: 1, entityID: 1)) == "brief")
            #expect(Self.text(await cache.query(tenant: 1, kind: "filter", normalized: Self.query).0) == "result")
            try await Task.sleep(for: .milliseconds(4_500))
            #expect(Self.text(await cache.entity(tenant: 1, entityID: 1)) == nil)
            #expect(Self.text(await cache.query(tenant: 1, kind: "filter", normalized: Self.query).0) == nil)
            #expect(try await redis.get(Self.entityKey(cache, tenant: 1, entity: 1)) == nil)
        }
    }

    @Test func aHitRestartsASlidingTTL() async throws {
        // A TTL of 6 s read every 2 s leaves 4 s of slack a round for a loaded machine (with 4 s
        // and 1.5 s, a full CI-like run once found the entry gone before the first hit).
        try await Self.withCache(.init(entityTTL: .seconds(6), slidingEntityTTL: true)) { cache, redis in
            let key = Self.entityKey(cache, tenant: 1, entity: 1)
            try await Self.store(cache, redis, tenant: 1, entity: 1, "popular")
            // Read every 2 s for 8 s, past the 6 s TTL: each hit kept the entry.
            for round in 1...4 {
                try await Task.sleep(for: .seconds(2))
                let before = try await Self.pttl(redis, key)
                #expect(before <= 4_000, "round \(round): Redis counts the entry down between hits")
                #expect(Self.text(await cache.entity(tenant: 1, entityID: 1)) == "popular", "round \(round)")
                let after = try await Self.pttl(redis, key)
                #expect(after > before, "round \(round): the hit set the TTL back to 6 s (\(before) ms → \(after) ms)")
            }
            // Unread for longer than the TTL: gone.
            try await Task.sleep(for: .milliseconds(6_500))
            #expect(Self.text(await cache.entity(tenant: 1, entityID: 1)) == nil)
        }
    }

    @Test func aFixedTTLIsNotExtendedByHits() async throws {
        // A TTL of 8 s leaves 7 s of slack for the hit at 1 s on a loaded machine (with 4 s, a
        // full CI-like run once found the entry gone at the hit: the test took 9 s). The expiry
        // is checked from when the store had answered, never from before it.
        try await Self.withCache(.init(entityTTL: .seconds(8), slidingEntityTTL: false)) { cache, redis in
            let key = Self.entityKey(cache, tenant: 1, entity: 1)
            try await Self.store(cache, redis, tenant: 1, entity: 1, "popular")
            // Taken once Redis holds the entry (storing may take tries): its TTL began before.
            let stored = ContinuousClock.now
            try await Task.sleep(for: .seconds(1))
            #expect(Self.text(await cache.entity(tenant: 1, entityID: 1)) == "popular")
            // The hit left the TTL running from the store, at least a second ago.
            #expect(try await Self.pttl(redis, key) <= 7_000)
            // 8.5 s after the store, whatever the hit at 1 s.
            try await Task.sleep(until: stored + .milliseconds(8_500))
            #expect(Self.text(await cache.entity(tenant: 1, entityID: 1)) == nil)
        }
    }

    @Test func oneTenantsEntriesAreNeverServedToAnother() async throws {
        try await Self.withCache { cache, _ in
            // The same entity id and the same query under two tenants.
            await cache.storeEntity(tenant: 1, entityID: 7, version: 1, lagMilliseconds: 0, document: Self.document("first"))
            await cache.storeEntity(tenant: 2, entityID: 7, version: 1, lagMilliseconds: 0, document: Self.document("second"))
            for _ in 0..<2 {
                #expect(Self.text(await cache.entity(tenant: 1, entityID: 7)) == "first")
                #expect(Self.text(await cache.entity(tenant: 2, entityID: 7)) == "second")
                #expect(Self.text(await cache.entity(tenant: 3, entityID: 7)) == nil)
            }

            let (firstMiss, firstSlot) = await cache.query(tenant: 1, kind: "filter", normalized: Self.query)
            #expect(Self.text(firstMiss) == nil)
            await cache.storeQuery(try #require(firstSlot), document: Self.document("first"), lagMilliseconds: 0, nowMicros: Self.nowMicros())
            let (secondMiss, secondSlot) = await cache.query(tenant: 2, kind: "filter", normalized: Self.query)
            #expect(Self.text(secondMiss) == nil, "tenant 1's result was served to tenant 2")
            #expect(secondSlot?.key != firstSlot?.key)
            await cache.storeQuery(try #require(secondSlot), document: Self.document("second"), lagMilliseconds: 0, nowMicros: Self.nowMicros())
            #expect(Self.text(await cache.query(tenant: 1, kind: "filter", normalized: Self.query).0) == "first")
            #expect(Self.text(await cache.query(tenant: 2, kind: "filter", normalized: Self.query).0) == "second")
            // Another kind of query with the same text is another slot.
            #expect(Self.text(await cache.query(tenant: 1, kind: "aggregate", normalized: Self.query).0) == nil)

            // The ids this process remembers for entity keys are per tenant too.
            cache.rememberEntityID(7, tenant: 1, key: "same")
            #expect(cache.entityID(tenant: 1, key: "same") == 7)
            #expect(cache.entityID(tenant: 2, key: "same") == nil)
        }
    }

    @Test func queryResultsAreCachedUntilTheTenantChanges() async throws {
        try await Self.withCache { cache, _ in
            let now = Self.nowMicros()
            let (miss, stored) = await cache.query(tenant: 1, kind: "filter", normalized: Self.query)
            #expect(Self.text(miss) == nil)
            let slot = try #require(stored)
            #expect(slot.changedAtMicros == 0)
            await cache.storeQuery(slot, document: Self.document("before"), lagMilliseconds: 0, nowMicros: now)
            let (_, otherSlot) = await cache.query(tenant: 2, kind: "filter", normalized: Self.query)
            await cache.storeQuery(try #require(otherSlot), document: Self.document("other"), lagMilliseconds: 0, nowMicros: now)
            for _ in 0..<3 {
                #expect(Self.text(await cache.query(tenant: 1, kind: "filter", normalized: Self.query).0) == "before")
            }

            // Tenant 1 changes (a flush or a safe write gave its series rows).
            let changedAt = now + 1_000_000
            await cache.forget(ProjectionChange(tenants: [1], entities: [], atMicros: changedAt))
            let (afterChange, next) = await cache.query(tenant: 1, kind: "filter", normalized: Self.query)
            #expect(Self.text(afterChange) == nil, "a result from before the change was served after it")
            let nextSlot = try #require(next)
            #expect(nextSlot.changedAtMicros == changedAt)
            #expect(nextSlot.key != slot.key)
            // A result from a source that may not have seen the change (read 100 ms after it,
            // from a node 500 ms behind) is not stored...
            await cache.storeQuery(nextSlot, document: Self.document("stale"), lagMilliseconds: 500, nowMicros: changedAt + 100_000)
            #expect(Self.text(await cache.query(tenant: 1, kind: "filter", normalized: Self.query).0) == nil)
            // ...one that must have seen it is.
            await cache.storeQuery(nextSlot, document: Self.document("after"), lagMilliseconds: 500, nowMicros: changedAt + 1_000_000)
            #expect(Self.text(await cache.query(tenant: 1, kind: "filter", normalized: Self.query).0) == "after")
            // Tenant 2 did not change: its result is still served.
            #expect(Self.text(await cache.query(tenant: 2, kind: "filter", normalized: Self.query).0) == "other")
        }
    }

    @Test func aChangedOrDeletedEntityIsNeverServedFromTheCache() async throws {
        // Sliding entries, a short tombstone: a read must not extend a tombstone.
        try await Self.withCache(.init(entityTTL: .seconds(300), slidingEntityTTL: true, tombstoneTTL: .seconds(5))) { cache, redis in
            let key = Self.entityKey(cache, tenant: 1, entity: 5)
            await cache.storeEntity(tenant: 1, entityID: 5, version: 100, lagMilliseconds: 0, document: Self.document("old"))
            #expect(Self.text(await cache.entity(tenant: 1, entityID: 5)) == "old")

            // A change at version 200: the entry becomes a tombstone, never served.
            await cache.forget(ProjectionChange(tenants: [1], entities: [.init(tenantID: 1, entityID: 5, version: 200)], atMicros: 200))
            for _ in 0..<5 {
                #expect(Self.text(await cache.entity(tenant: 1, entityID: 5)) == nil)
            }
            let tombstone = try await redis.get(key).map { String(buffer: $0) }
            #expect(tombstone == "t200\n")
            let tombstoneTTL = try await Self.pttl(redis, key)
            #expect((1...5_000).contains(tombstoneTTL), "reads extended the tombstone (\(tombstoneTTL) ms left)")
            // A read from a node that had not replayed the change cannot put the old value back...
            await cache.storeEntity(tenant: 1, entityID: 5, version: 150, lagMilliseconds: 900, document: Self.document("old"))
            #expect(Self.text(await cache.entity(tenant: 1, entityID: 5)) == nil)
            // ...one that saw it replaces the tombstone, and no older read replaces it.
            await cache.storeEntity(tenant: 1, entityID: 5, version: 200, lagMilliseconds: 0, document: Self.document("new"))
            #expect(Self.text(await cache.entity(tenant: 1, entityID: 5)) == "new")
            await cache.storeEntity(tenant: 1, entityID: 5, version: 150, lagMilliseconds: 900, document: Self.document("old"))
            #expect(Self.text(await cache.entity(tenant: 1, entityID: 5)) == "new")

            // The entity is deleted (the change carries the deletion's time).
            await cache.forget(ProjectionChange(tenants: [1], entities: [.init(tenantID: 1, entityID: 5, version: 300)], atMicros: 300))
            await cache.storeEntity(tenant: 1, entityID: 5, version: 200, lagMilliseconds: 900, document: Self.document("new"))
            for _ in 0..<5 {
                #expect(Self.text(await cache.entity(tenant: 1, entityID: 5)) == nil)
            }
        }
    }

    @Test func redisDyingCostsNoErrorsAndTheBreakerOpensThenCloses() async throws {
        let coolDown = Duration.seconds(1)
        let clock = TestClock()
        try await TestRedis.withPrivateRedis { cluster, url in
            let configuration = ReadCache.Configuration(breaker: .init(failureThreshold: 3, coolDown: coolDown))
            try await Self.withCache(url: url, configuration, clock: clock.clock, commandTimeout: .seconds(1)) { cache, redis in
                // A fresh Redis on a loaded machine can miss the 1 s command timeout at
                // first (the suite starts every Redis and PostgreSQL at once): the store is
                // retried, and the breaker's clock moved past any cool-down that opened.
                try await Self.until("the cache serves what it stored") {
                    clock.advance(by: coolDown)
                    await cache.storeEntity(tenant: 1, entityID: 1, version: 1, lagMilliseconds: 0, document: Self.document("kept"))
                    return Self.text(await cache.entity(tenant: 1, entityID: 1)) == "kept"
                }
                #expect(!cache.isBreakerOpen)

                try await cluster.stop(component: "redis")
                // Every call is a miss or a skipped write, within the command timeout:
                // nothing reaches the caller (the calls cannot throw).
                for round in 0..<10 {
                    let started = ContinuousClock.now
                    #expect(Self.text(await cache.entity(tenant: 1, entityID: 1)) == nil, "round \(round)")
                    #expect(Self.text(await cache.query(tenant: 1, kind: "filter", normalized: Self.query).0) == nil, "round \(round)")
                    await cache.storeEntity(tenant: 1, entityID: 2, version: 1, lagMilliseconds: 0, document: Self.document("skipped"))
                    await cache.forget(ProjectionChange(tenants: [1], entities: [.init(tenantID: 1, entityID: 1, version: 2)], atMicros: 2))
                    #expect(ContinuousClock.now - started < .seconds(5), "round \(round) took \(ContinuousClock.now - started)")
                }
                #expect(cache.isBreakerOpen)
                // Open, a call does not wait for Redis at all.
                let started = ContinuousClock.now
                #expect(Self.text(await cache.entity(tenant: 1, entityID: 1)) == nil)
                #expect(ContinuousClock.now - started < .milliseconds(500))

                _ = try await cluster.up()
                try await Self.until("Redis answers again") { (try? await redis.ping()) != nil }
                // An entry as one written while the cache skipped writes could have left it: stale.
                let staleKey = Self.entityKey(cache, tenant: 1, entity: 3)
                // Retried: a Redis just restarted on a loaded machine may miss the 1 s timeout once.
                let stale = CacheEntry(version: 1, kind: .value(document: Self.document("stale"), lagMilliseconds: 0)).encoded
                try await Self.until("the stale entry is written") { (try? await redis.set(staleKey, to: stale)) != nil }

                // Redis is back and more than the cool-down passed in real time, but the
                // breaker's clock has not moved: it stays open, no call goes to Redis.
                try await Task.sleep(for: coolDown + .milliseconds(500))
                #expect(Self.text(await cache.entity(tenant: 1, entityID: 3)) == nil)
                #expect(cache.isBreakerOpen)

                // Past the cool-down on the breaker's clock, the next call is the probe: it
                // succeeds, closes the breaker, and empties what the skipped writes left stale;
                // what the probe itself read (the stale entry) is not served.
                clock.advance(by: coolDown)
                #expect(Self.text(await cache.entity(tenant: 1, entityID: 3)) == nil, "the probe served a stale entry")
                #expect(!cache.isBreakerOpen)
                #expect(try await redis.get(staleKey) == nil)
                #expect(Self.text(await cache.entity(tenant: 1, entityID: 3)) == nil)
                // The cache serves again.
                await cache.storeEntity(tenant: 1, entityID: 1, version: 3, lagMilliseconds: 0, document: Self.document("back"))
                #expect(Self.text(await cache.entity(tenant: 1, entityID: 1)) == "back")
            }
        }
    }

    // MARK: - Helpers

    static let query = #"{"filter":{"attribute":"temp","op":"exists"}}"#

    static func document(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    /// Stores an entity's entry, again until Redis holds it: the cache skips a write that
    /// misses its command timeout, as a loaded machine starting the whole suite can make it.
    static func store(_ cache: ReadCache, _ redis: RedisClient, tenant: Int64, entity: Int64, _ text: String) async throws {
        let key = Self.entityKey(cache, tenant: tenant, entity: entity)
        try await Self.until("Redis holds \(key)") {
            await cache.storeEntity(tenant: tenant, entityID: entity, version: 1, lagMilliseconds: 0, document: Self.document(text))
            return try await redis.get(key) != nil
        }
    }

    /// The document a hit holds, as text; nil on a miss.
    static func text(_ hit: ReadCache.Hit?) -> String? { hit.map { String(buffer: $0.document) } }

    static func nowMicros() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000_000) }

    /// Where the cache keeps an entity: `entity:{tenant}:{entity}` under its namespace.
    static func entityKey(_ cache: ReadCache, tenant: Int64, entity: Int64) -> String {
        "\(cache.configuration.namespace)entity:\(tenant):\(entity)"
    }

    /// The milliseconds `key` has left (-2: no such key, -1: no TTL).
    static func pttl(_ redis: RedisClient, _ key: String) async throws -> Int64 {
        let reply = try await redis.send(["PTTL", .string(key)])
        guard case .integer(let milliseconds) = reply else {
            Issue.record("PTTL answered \(reply)")
            return -3
        }
        return milliseconds
    }

    static func until(_ what: String, timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("timed out waiting until \(what)")
        throw CancellationError()
    }

    /// Runs `body` with a cache on a running Redis client: on `url`, or on database 2
    /// of the shared test Redis (apart from the server tests' database 0, which their
    /// caches may empty) under a namespace of the test's own.
    static func withCache<T: Sendable>(
        url: RedisURL? = nil,
        _ configuration: ReadCache.Configuration = .init(),
        clock: ServiceClock = .continuous,
        commandTimeout: Duration = .seconds(5),
        _ body: @Sendable (ReadCache, RedisClient) async throws -> T
    ) async throws -> T {
        var redisURL: RedisURL
        if let url {
            redisURL = url
        } else {
            redisURL = try await TestRedis.url()
            redisURL.database = 2
        }
        var configuration = configuration
        configuration.namespace = "test-\(UUID().uuidString.prefix(8)):"
        let redis = RedisClient(
            configuration: .init(
                url: redisURL,
                commandTimeout: commandTimeout,
                connectTimeout: .seconds(5),
                backoff: .init(initial: .milliseconds(20), maximum: .milliseconds(300))
            ),
            logger: quietLogger
        )
        let cache = ReadCache(redis: redis, configuration: configuration, clock: clock, logger: quietLogger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await redis.run() }
            defer { group.cancelAll() }
            return try await body(cache, redis)
        }
    }
}
