import NIOCore
import Synchronization
import TesseraCore

/// API key → tenant, remembered for a few seconds. Every request authenticates, and
/// without this a lookup the Redis cache answers would still cost a query on the
/// primary first. Only known keys are remembered (a new tenant's key works at once
/// everywhere). A key rotated through this process stops working at once here; on
/// other servers sharing the database, within `ttl`.
package final class TenantKeyCache: Sendable {
    private struct Entry {
        var tenant: Tenant
        var expires: ServiceClock.Instant
    }

    package let ttl: Duration
    private let capacity: Int
    private let entries = Mutex<(byHash: [ByteBuffer: Entry], generation: Int)>(([:], 0))

    let clock: ServiceClock

    package init(ttl: Duration = .seconds(5), capacity: Int = 10_000, clock: ServiceClock = .continuous) {
        self.ttl = ttl
        self.clock = clock
        self.capacity = capacity
    }

    /// The tenant of a key's stored hash, unless its entry expired; else the generation
    /// to hand back to `remember` with what the database said.
    func tenant(hash: ByteBuffer) -> (tenant: Tenant?, generation: Int) {
        self.entries.withLock { entries in
            guard let entry = entries.byHash[hash] else { return (nil, entries.generation) }
            guard entry.expires > self.clock.now else {
                entries.byHash[hash] = nil
                return (nil, entries.generation)
            }
            return (entry.tenant, entries.generation)
        }
    }

    /// Remembers a key's tenant, unless keys changed since `generation` was read (the
    /// answer may predate a rotation).
    func remember(_ tenant: Tenant, hash: ByteBuffer, generation: Int) {
        guard self.ttl > .zero else { return }
        self.entries.withLock { entries in
            guard entries.generation == generation else { return }
            if entries.byHash.count >= self.capacity { entries.byHash.removeAll(keepingCapacity: true) }
            entries.byHash[hash] = Entry(tenant: tenant, expires: self.clock.now.advanced(by: self.ttl))
        }
    }

    /// Forgets every key (a key or a tenant changed).
    func removeAll() {
        self.entries.withLock { entries in
            entries.byHash.removeAll()
            entries.generation += 1
        }
    }
}
