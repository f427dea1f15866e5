import Crypto
import Logging
import Metrics
import NIOCore
import Synchronization
import TesseraCore

/// The read cache in Redis: entity lookups under `entity:{tenant}:{entity}` (TTL
/// 300 s, restarted by every read that hits, unless `slidingEntityTTL` is off) and
/// filter/aggregate results under a tenant-scoped key of the normalised query (TTL
/// 60 s from the miss that stored it).
///
/// Correctness rests on versions. Every change the write path commits is announced
/// (`forget`): each changed entity's entry becomes a short-lived tombstone carrying
/// the change's time, and the tenant's query generation moves to that time. A value
/// read from the database is stored only if it is at least as new as what the
/// cache holds (a script compares versions inside Redis), and a query result only
/// if its source had caught up with the tenant's last change. So a replica that
/// has not replayed a flush can never put the older value back.
///
/// Redis failing (timeouts, refused connections, out of memory) opens a breaker:
/// reads go to the database, writes skip the cache, nobody sees an error. Because
/// skipped writes may have left stale entries, the first success after the breaker
/// closes empties the cache's database (`FLUSHDB ASYNC`) before it is used again.
package final class ReadCache: Sendable {
    package struct Configuration: Sendable {
        package var entityTTL: Duration
        /// A hit restarts the entry's `entityTTL`, so an entity read more often than
        /// that stays cached (its changes replace the entry, the TTL only bounds how
        /// long an entry nobody reads takes memory). Off: entries live `entityTTL` from
        /// the miss that stored them.
        package var slidingEntityTTL: Bool
        package var queryTTL: Duration
        /// How long a tombstone keeps older values out: longer than any replica that
        /// still gets reads may lag (the routing threshold, 3 s by default).
        package var tombstoneTTL: Duration
        package var breaker: CircuitBreaker<ServiceClock.Instant>.Configuration
        /// Entity keys → ids kept in this process (ids never change for a key).
        package var localKeyCapacity: Int
        /// Put before every key, for deployments that share one Redis (`""`: none).
        package var namespace: String

        package init(
            entityTTL: Duration = .seconds(300),
            slidingEntityTTL: Bool = true,
            queryTTL: Duration = .seconds(60),
            tombstoneTTL: Duration = .seconds(5),
            breaker: CircuitBreaker<ServiceClock.Instant>.Configuration = .init(failureThreshold: 3, coolDown: .seconds(2)),
            localKeyCapacity: Int = 1_000_000,
            namespace: String = ""
        ) {
            self.namespace = namespace
            self.entityTTL = entityTTL
            self.slidingEntityTTL = slidingEntityTTL
            self.queryTTL = queryTTL
            self.tombstoneTTL = tombstoneTTL
            self.breaker = breaker
            self.localKeyCapacity = localKeyCapacity
        }
    }

    /// A cached answer and how stale its source was when it was stored.
    package struct Hit: Sendable {
        package var document: ByteBuffer
        package var lagMilliseconds: Int
    }

    /// Where a query result may be stored once computed, and the change it must have seen.
    package struct QuerySlot: Sendable {
        package var key: String
        /// Time (µs) of the tenant's last change: a result from a source lagging
        /// more than `now - changedAt` may predate it and is not stored.
        package var changedAtMicros: Int64
    }

    private struct BreakerState {
        var breaker: CircuitBreaker<ServiceClock.Instant>
        /// Writes were skipped while the breaker was open: entries may be stale.
        var skippedWrites = false
    }

    package let configuration: Configuration
    let redis: RedisClient
    let clock: ServiceClock
    let logger: Logger
    private let breaker: Mutex<BreakerState>
    /// Entity ids by "tenant:key", compared as bytes (`ExactKey`), as the database compares keys.
    private let entityIDs = Mutex<[ExactKey: Int64]>([:])
    let metrics: CacheMetrics

    package init(
        redis: RedisClient,
        configuration: Configuration = .init(),
        metrics: CacheMetrics = CacheMetrics(),
        clock: ServiceClock = .continuous,
        logger: Logger
    ) {
        self.redis = redis
        self.metrics = metrics
        self.clock = clock
        self.configuration = configuration
        self.logger = logger
        self.breaker = Mutex(BreakerState(breaker: CircuitBreaker(configuration: configuration.breaker)))
    }

    /// Counts a read answered from the cache, by its consistency.
    package func countServed(consistency: String) {
        self.metrics.served(consistency: consistency)
    }

    package var isBreakerOpen: Bool { self.breaker.withLock { $0.breaker.isOpen } }

    // MARK: - Entity lookups

    /// The entity id of a key, as this process last saw it.
    package func entityID(tenant: Int64, key: String) -> Int64? {
        self.entityIDs.withLock { $0[ExactKey("\(tenant):\(key)")] }
    }

    package func rememberEntityID(_ id: Int64, tenant: Int64, key: String) {
        self.entityIDs.withLock { ids in
            if ids.count >= self.configuration.localKeyCapacity { ids.removeAll(keepingCapacity: true) }
            ids[ExactKey("\(tenant):\(key)")] = id
        }
    }

    func entityKey(tenant: Int64, entity: Int64) -> String { "\(self.configuration.namespace)entity:\(tenant):\(entity)" }

    /// The cached lookup of an entity; nil on a miss, a tombstone, or Redis failing.
    package func entity(tenant: Int64, entityID: Int64) async -> Hit? {
        let key = self.entityKey(tenant: tenant, entity: entityID)
        let bytes =
            await self.guarded(reading: true) { () async throws(RedisError) -> ByteBuffer? in
                guard self.configuration.slidingEntityTTL else { return try await self.redis.get(key) }
                let reply = try await self.redis.send([
                    "EVAL", .string(Self.readAndTouch), 1, .string(key),
                    .integer(Self.milliseconds(self.configuration.entityTTL)),
                ])
                guard case .bulkString(let value) = reply else { throw RedisError(.protocolViolation, "EVAL of the entity read answered \(reply)") }
                return value
            } ?? nil
        guard let bytes, let entry = CacheEntry(decoding: bytes), case .value(let document, let lag) = entry.kind else {
            self.metrics.miss("entity")
            return nil
        }
        self.metrics.hit("entity")
        return Hit(document: document, lagMilliseconds: lag)
    }

    /// Stores an entity's lookup unless the cache holds something newer (a tombstone
    /// of a later change, or a value read after this one).
    package func storeEntity(tenant: Int64, entityID: Int64, version: Int64, lagMilliseconds: Int, document: ByteBuffer) async {
        let entry = CacheEntry(version: version, kind: .value(document: document, lagMilliseconds: lagMilliseconds))
        let ttl = Self.milliseconds(self.configuration.entityTTL)
        _ = await self.guarded(reading: false) { () async throws(RedisError) -> RESPValue in
            try await self.redis.send([
                "EVAL", .string(Self.storeIfNewer), 1, .string(self.entityKey(tenant: tenant, entity: entityID)),
                .integer(version), .bytes(entry.encoded), .integer(ttl),
            ])
        }
    }

    /// GET KEYS[1]; a value (not a tombstone, which must expire on time) lives ARGV[1] ms from now.
    static let readAndTouch = """
        local entry = redis.call('GET', KEYS[1])
        if entry and string.byte(entry, 1) == 118 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
        return entry
        """

    /// SET KEYS[1] ARGV[2] PX ARGV[3] unless it holds a version above ARGV[1].
    static let storeIfNewer = """
        local current = redis.call('GET', KEYS[1])
        if current then
          local version = tonumber(string.match(current, '^[vt](%d+)'))
          if version and version > tonumber(ARGV[1]) then return 0 end
        end
        redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
        return 1
        """

    // MARK: - Query results

    /// The cached result of a normalised query, and where to store it on a miss.
    package func query(tenant: Int64, kind: String, normalized: String) async -> (Hit?, QuerySlot?) {
        let generationKey = "\(self.configuration.namespace)querygen:\(tenant)"
        let changedAt = await self.guarded(reading: true) { () async throws(RedisError) -> Int64 in
            guard let bytes = try await self.redis.get(generationKey) else { return 0 }
            return Int64(String(buffer: bytes)) ?? 0
        }
        guard let changedAt else {
            self.metrics.miss(kind)
            return (nil, nil)
        }
        let digest = SHA256.hash(data: Array(normalized.utf8)).map { String(format: "%02x", $0) }.joined()
        let slot = QuerySlot(key: "\(self.configuration.namespace)query:\(tenant):\(kind):\(changedAt):\(digest)", changedAtMicros: changedAt)
        let bytes =
            await self.guarded(reading: true) { () async throws(RedisError) -> ByteBuffer? in
                try await self.redis.get(slot.key)
            } ?? nil
        guard let bytes, let entry = CacheEntry(decoding: bytes), case .value(let document, let lag) = entry.kind else {
            self.metrics.miss(kind)
            return (nil, slot)
        }
        self.metrics.hit(kind)
        return (Hit(document: document, lagMilliseconds: lag), slot)
    }

    /// Stores a query result if its source had seen the tenant's last change.
    package func storeQuery(_ slot: QuerySlot, document: ByteBuffer, lagMilliseconds: Int, nowMicros: Int64) async {
        guard slot.changedAtMicros == 0 || nowMicros - slot.changedAtMicros > Int64(lagMilliseconds + 50) * 1_000 else { return }
        let entry = CacheEntry(version: nowMicros, kind: .value(document: document, lagMilliseconds: lagMilliseconds))
        let ttl = self.configuration.queryTTL
        _ = await self.guarded(reading: false) { () async throws(RedisError) -> Void in
            try await self.redis.set(slot.key, to: entry.encoded, ttl: ttl)
        }
    }

    // MARK: - The write path

    /// What a committed flush, `safe` write or delete changed: tombstones for the
    /// entities, a new query generation for the tenants. Runs before the flusher
    /// goes on (and before a `safe` write is acknowledged).
    package func forget(_ change: ProjectionChange) async {
        let ttl = Self.milliseconds(self.configuration.tombstoneTTL)
        var start = 0
        while start < change.entities.count {
            let slice = change.entities[start..<min(start + 1_000, change.entities.count)]
            start += slice.count
            var command: [RedisCommand.Argument] = ["EVAL", .string(Self.tombstoneAll), .integer(Int64(slice.count))]
            command += slice.map { .string(self.entityKey(tenant: $0.tenantID, entity: $0.entityID)) }
            command.append(.integer(ttl))
            command += slice.map { .integer($0.version) }
            let sent = await self.guarded(reading: false) { () async throws(RedisError) -> RESPValue in
                try await self.redis.send(RedisCommand(command))
            }
            if sent == nil { return }
        }
        guard !change.tenants.isEmpty else { return }
        var generations: [RedisCommand.Argument] = ["MSET"]
        for tenant in Set(change.tenants).sorted() {
            generations += [.string("\(self.configuration.namespace)querygen:\(tenant)"), .integer(change.atMicros)]
        }
        _ = await self.guarded(reading: false) { () async throws(RedisError) -> RESPValue in
            try await self.redis.send(RedisCommand(generations))
        }
    }

    /// Tombstones KEYS[i] with version ARGV[i + 1] (TTL ARGV[1] ms) unless it holds a newer version.
    static let tombstoneAll = """
        for i, key in ipairs(KEYS) do
          local current = redis.call('GET', key)
          local version = current and tonumber(string.match(current, '^[vt](%d+)'))
          if not version or version <= tonumber(ARGV[i + 1]) then
            redis.call('SET', key, 't' .. ARGV[i + 1] .. '\\n', 'PX', ARGV[1])
          end
        end
        return #KEYS
        """

    // MARK: - The breaker

    /// Runs a Redis call unless the breaker is open; nil when it did not run or failed.
    func guarded<T: Sendable>(reading: Bool, _ call: () async throws(RedisError) -> T) async -> T? {
        let decision = self.breaker.withLock { state -> CircuitBreaker<ServiceClock.Instant>.Decision in
            let decision = state.breaker.decide(now: self.clock.now)
            if decision == .reject, !reading { state.skippedWrites = true }
            return decision
        }
        guard decision != .reject else { return nil }
        let started = ContinuousClock.now
        do {
            let value = try await call()
            self.metrics.redisTime(ContinuousClock.now - started)
            let mustFlush = self.breaker.withLock { state -> Bool in
                state.breaker.recordSuccess()
                defer { state.skippedWrites = false }
                return state.skippedWrites
            }
            self.metrics.breaker(open: false)
            if mustFlush {
                await self.emptyAfterOutage()
                // What this call read predates the emptying and may be one of the entries
                // the skipped writes left stale: a read is a miss.
                if reading { return nil }
            }
            return value
        } catch {
            self.metrics.error(error.kind.rawValue)
            switch error.kind {
            case .timeout, .connection, .outOfMemory, .protocolViolation, .authentication:
                let opened = self.breaker.withLock { state -> Bool in
                    state.breaker.recordFailure(now: self.clock.now)
                    if !reading { state.skippedWrites = true }
                    return state.breaker.isOpen
                }
                if opened {
                    self.metrics.breaker(open: true)
                    self.logger.warning("Redis failing; the cache is bypassed", metadata: ["error": "\(error)"])
                }
            case .server, .cancelled, .shutdown:
                break
            }
            return nil
        }
    }

    /// Writes were skipped while Redis was unreachable: entries may be stale, so the
    /// cache starts empty rather than serve them.
    private func emptyAfterOutage() async {
        self.logger.notice("Redis is back; emptying the cache, since writes were skipped while it was unreachable")
        do {
            _ = try await self.redis.send(["FLUSHDB", "ASYNC"])
        } catch {
            self.breaker.withLock { $0.skippedWrites = true }
        }
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}
