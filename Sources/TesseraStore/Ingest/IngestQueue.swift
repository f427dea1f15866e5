/// The write path's bounded, fair queue, as a state machine with no I/O.
///
/// Capacity is counted in points and bytes from admission until the points are
/// flushed (or fail), so staging backlog counts too. Each tenant may hold at most
/// `tenantShare` of it: past that it gets `overTenantShare` (429) while others are
/// still admitted; when the whole queue is full, `saturated` (503). Writers take
/// groups round-robin across tenants, so a small tenant never waits behind a big
/// tenant's backlog.
///
/// A refusal is remembered until the queue (or the tenant) has drained to 90% of its
/// limit: meanwhile `precheck` refuses new requests before the server reads and resolves
/// their bodies. Without it a full queue still took each request's parse and entity
/// lookups (more than half of the requests under a closed-loop load) only to answer 503.
package struct IngestQueue<Item: Sendable>: Sendable {
    package struct Limits: Sendable {
        package var maxPoints: Int
        package var maxBytes: Int
        package var tenantShare: Double
        /// Most points taken from one tenant per round of a group.
        package var quantum: Int

        package init(maxPoints: Int = 1_000_000, maxBytes: Int = 256 << 20, tenantShare: Double = 0.5, quantum: Int = 2_000) {
            self.maxPoints = maxPoints
            self.maxBytes = maxBytes
            self.tenantShare = tenantShare
            self.quantum = quantum
        }
    }

    package enum Admission: Sendable, Equatable {
        case admitted
        case overTenantShare
        case saturated
    }

    package struct Entry: Sendable {
        package var tenant: Int64
        package var points: Int
        package var bytes: Int
        package var item: Item
    }

    package let limits: Limits
    private var queues: [Int64: [Entry]] = [:]
    private var heads: [Int64: Int] = [:]
    private var rotation: [Int64] = []
    private var cursor = 0
    package private(set) var heldPoints = 0
    package private(set) var heldBytes = 0
    package private(set) var queuedPoints = 0
    private var heldByTenant: [Int64: Int] = [:]
    /// Set by a `saturated` refusal while the queue is above its low-water mark.
    private var full = false
    /// Tenants refused `overTenantShare` while above their share's low-water mark.
    private var overShare: Set<Int64> = []

    package init(limits: Limits) {
        self.limits = limits
    }

    /// Reserves capacity for `points`, or says why not. Reserved capacity is given
    /// back with `release` when the points are flushed or have failed.
    package mutating func admit(tenant: Int64, points: Int, bytes: Int) -> Admission {
        let tenantHeld = self.heldByTenant[tenant, default: 0]
        if tenantHeld > 0, tenantHeld + points > self.tenantLimit {
            if tenantHeld > Self.lowWater(self.tenantLimit) { self.overShare.insert(tenant) }
            return .overTenantShare
        }
        if self.heldPoints > 0, self.heldPoints + points > self.limits.maxPoints || self.heldBytes + bytes > self.limits.maxBytes {
            if !self.hasDrained { self.full = true }
            return .saturated
        }
        self.heldPoints += points
        self.heldBytes += bytes
        self.heldByTenant[tenant] = tenantHeld + points
        return .admitted
    }

    package mutating func release(tenant: Int64, points: Int, bytes: Int) {
        self.heldPoints -= points
        self.heldBytes -= bytes
        let remaining = self.heldByTenant[tenant, default: 0] - points
        self.heldByTenant[tenant] = remaining > 0 ? remaining : nil
        if self.full, self.hasDrained { self.full = false }
        if !self.overShare.isEmpty, remaining <= Self.lowWater(self.tenantLimit) { self.overShare.remove(tenant) }
    }

    /// What a new request of `tenant` would be told now, before its points are known:
    /// refused while a refusal of the same kind is remembered (see the type's comment).
    /// `admit` still decides for the request's points.
    package func precheck(tenant: Int64) -> Admission {
        if self.overShare.contains(tenant) { return .overTenantShare }
        return self.full ? .saturated : .admitted
    }

    private var tenantLimit: Int { max(1, Int(Double(self.limits.maxPoints) * self.limits.tenantShare)) }

    /// At or below 90% of both limits.
    private var hasDrained: Bool {
        self.heldPoints <= Self.lowWater(self.limits.maxPoints) && self.heldBytes <= Self.lowWater(self.limits.maxBytes)
    }

    private static func lowWater(_ limit: Int) -> Int { limit - limit / 10 }

    package func held(by tenant: Int64) -> Int { self.heldByTenant[tenant, default: 0] }

    /// Queues admitted work.
    package mutating func enqueue(_ entry: Entry) {
        if self.queues[entry.tenant] == nil {
            self.queues[entry.tenant] = []
            self.heads[entry.tenant] = 0
            self.rotation.append(entry.tenant)
        }
        self.queues[entry.tenant]!.append(entry)
        self.queuedPoints += entry.points
    }

    package var isEmpty: Bool { self.queuedPoints == 0 && self.rotation.isEmpty }

    /// Takes up to `maxPoints` (at least one entry), visiting tenants in turn and
    /// taking whole entries up to `quantum` points from each per turn.
    package mutating func nextGroup(maxPoints: Int) -> [Entry] {
        var group = [Entry]()
        var taken = 0
        while taken < maxPoints, !self.rotation.isEmpty {
            if self.cursor >= self.rotation.count { self.cursor = 0 }
            let tenant = self.rotation[self.cursor]
            var takenThisTurn = 0
            while takenThisTurn < self.limits.quantum, taken < maxPoints || group.isEmpty,
                let entry = self.popFirst(tenant)
            {
                group.append(entry)
                taken += entry.points
                takenThisTurn += entry.points
            }
            if self.queues[tenant]?.isEmpty ?? true {
                self.queues[tenant] = nil
                self.heads[tenant] = nil
                self.rotation.remove(at: self.cursor)
            } else {
                self.cursor += 1
            }
        }
        self.queuedPoints -= taken
        return group
    }

    private mutating func popFirst(_ tenant: Int64) -> Entry? {
        guard var queue = self.queues[tenant], let head = self.heads[tenant], head < queue.count else { return nil }
        let entry = queue[head]
        if head + 1 == queue.count {
            queue.removeAll()
            self.heads[tenant] = 0
        } else if head > 64, head * 2 > queue.count {
            queue.removeFirst(head + 1)
            self.heads[tenant] = 0
        } else {
            self.heads[tenant] = head + 1
        }
        self.queues[tenant] = queue
        return entry
    }
}
