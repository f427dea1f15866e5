import Foundation
import Hummingbird
import NIOCore
import TesseraCache
import TesseraCore
import TesseraRouting

/// Cache-aside with single-flight, the one path for every read the Redis cache may
/// answer (entity lookups, filters, aggregates). A read whose consistency allows it
/// (not `strong`, no `min_lsn`) is answered from the cache when it holds the answer;
/// on a miss, concurrent misses of one answer share one database read, and the answer
/// is stored for the next reader. Without a cache, or when the read may not use it,
/// the computation simply runs.
package struct CachedReads: Sendable {
    /// An answer computed from the database.
    struct Computed: Sendable {
        /// The document without `meta`; nil when the entity asked for does not exist.
        var members: [(String, JSONValue)]?
        var served: ReadRouter.Served<Void>
        /// For an entity lookup: the entity's id and version, so a cached answer is never
        /// written over a newer one.
        var entity: (id: Int64, version: Int64)?

        init<Value>(members: [(String, JSONValue)]?, served: ReadRouter.Served<Value>, entity: (id: Int64, version: Int64)? = nil) {
            self.members = members
            self.served = .init(value: (), source: served.source, databaseTime: served.databaseTime)
            self.entity = entity
        }
    }

    let cache: ReadCache?
    private let flights = SingleFlight<Computed>()

    init(cache: ReadCache?) {
        self.cache = cache
    }

    /// The cache, when this read may be answered from it.
    private func cache(for options: ReadOptions) -> ReadCache? {
        options.consistency != .strong && options.minimum == nil ? self.cache : nil
    }

    /// An entity lookup by key. `cacheable` is false when the read asks for more than
    /// the hot state the cache holds (non-hot attributes). An entity that does not exist
    /// is a 404 with `notFound` as its detail.
    func entity(
        tenant: Int64,
        key: String,
        options: ReadOptions,
        cacheable: Bool,
        notFound: String,
        _ compute: @escaping @Sendable () async throws -> Computed
    ) async throws -> Response {
        guard cacheable, let cache = self.cache(for: options) else {
            return try Self.render(try await compute(), notFound: notFound)
        }
        if let id = cache.entityID(tenant: tenant, key: key), let hit = await cache.entity(tenant: tenant, entityID: id) {
            cache.countServed(consistency: options.consistency.rawValue)
            return ReadResponse.cached(hit, consistency: options.consistency)
        }
        let computed = try await self.flights.run("entity:\(tenant):\(key)", compute)
        if let members = computed.members, let entity = computed.entity {
            cache.rememberEntityID(entity.id, tenant: tenant, key: key)
            await cache.storeEntity(
                tenant: tenant,
                entityID: entity.id,
                version: entity.version,
                lagMilliseconds: Int(computed.served.source.lagMilliseconds.rounded(.up)),
                document: ByteBuffer(bytes: JSONValue.object(members).jsonBytes)
            )
        }
        return try Self.render(computed, notFound: notFound)
    }

    /// A filter or an aggregate, named by its kind and normalized text; cached until the
    /// tenant's next change.
    func query(
        tenant: Int64,
        kind: String,
        normalized: String,
        options: ReadOptions,
        _ compute: @escaping @Sendable () async throws -> Computed
    ) async throws -> Response {
        guard let cache = self.cache(for: options) else {
            return try Self.render(try await compute(), notFound: "")
        }
        let (hit, slot) = await cache.query(tenant: tenant, kind: kind, normalized: normalized)
        if let hit {
            cache.countServed(consistency: options.consistency.rawValue)
            return ReadResponse.cached(hit, consistency: options.consistency)
        }
        let computed = try await self.flights.run("query:" + (slot?.key ?? "\(tenant):\(kind):\(normalized)"), compute)
        if let slot, let members = computed.members {
            await cache.storeQuery(
                slot,
                document: ByteBuffer(bytes: JSONValue.object(members).jsonBytes),
                lagMilliseconds: Int(computed.served.source.lagMilliseconds.rounded(.up)),
                nowMicros: Int64(Date().timeIntervalSince1970 * 1_000_000)
            )
        }
        return try Self.render(computed, notFound: "")
    }

    private static func render(_ computed: Computed, notFound: String) throws -> Response {
        guard let members = computed.members else {
            throw ReadResponse.notFound(notFound, source: computed.served.source)
        }
        return ReadResponse.make(members, served: computed.served)
    }
}
