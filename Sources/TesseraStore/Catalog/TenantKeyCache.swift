import Foundation
import NIOCore
import Synchronization
import TesseraCore

/// API key → tenant and grant, remembered for a few seconds. Every request
/// authenticates, and without this a lookup the Redis cache answers would still cost a
/// query on the primary first. Only live keys are remembered (a new key works at once
/// everywhere), never past their expiry. A key revoked or rotated through this process
/// stops working at once here; on other servers sharing the database, within `ttl`.
package final class TenantKeyCache: Sendable {
    private struct Entry {
        var tenant: Tenant
        var grant: KeyGrant
        var keyExpiresAt: Date?
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

    /// The tenant and grant of a key's stored hash, unless its entry (or the key) expired;
    /// else the generation to hand back to `remember` with what the database said.
    func grant(hash: ByteBuffer, now: Date) -> (granted: (Tenant, KeyGrant)?, generation: Int) {
        self.entries.withLock { entries in
            guard let entry = entries.byHash[hash] else { return (nil, entries.generation) }
            guard entry.expires > self.clock.now, entry.keyExpiresAt.map({ $0 > now }) ?? true else {
                entries.byHash[hash] = nil
                return (nil, entries.generation)
            }
            return ((entry.tenant, entry.grant), entries.generation)
        }
    }

    /// Remembers a live key, unless keys changed since `generation` was read (the answer
    /// may predate a revocation).
    func remember(_ tenant: Tenant, grant: KeyGrant, keyExpiresAt: Date?, hash: ByteBuffer, generation: Int) {
        guard self.ttl > .zero else { return }
        self.entries.withLock { entries in
            guard entries.generation == generation else { return }
            if entries.byHash.count >= self.capacity { entries.byHash.removeAll(keepingCapacity: true) }
            entries.byHash[hash] = Entry(tenant: tenant, grant: grant, keyExpiresAt: keyExpiresAt, expires: self.clock.now.advanced(by: self.ttl))
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
