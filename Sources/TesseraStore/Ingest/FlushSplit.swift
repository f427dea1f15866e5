/// How one flush's staged batches are split between the sessions that run it at once
/// (`IngestPipeline.Configuration.flushSessions`, migration 0038). A tenant is never split
/// (its rows are moved by one flush at a time), nor is a batch: a batch that holds several
/// tenants (staged by an older server) puts them all in one part. Groups of tenants go
/// largest first, each to the part with the fewest staged rows so far.
package enum FlushSplit {
    /// A (batch, tenant) pair staged, and its rows (`staged_batches()`).
    package struct Staged: Sendable, Equatable {
        package var batch: Int64
        package var tenant: Int64
        package var rows: Int64

        package init(batch: Int64, tenant: Int64, rows: Int64) {
            self.batch = batch
            self.tenant = tenant
            self.rows = rows
        }
    }

    /// One session's share: its (batch, tenant) pairs, as two arrays of one length for
    /// `stage_flush_part(batch_ids, tenant_ids)`.
    package struct Part: Sendable, Equatable {
        package var batchIDs: [Int64] = []
        package var tenantIDs: [Int64] = []
        package var rows: Int64 = 0

        package var tenants: Set<Int64> { Set(self.tenantIDs) }
    }

    /// At most `count` parts, none empty; every staged pair in exactly one, the parts'
    /// tenants disjoint.
    package static func parts(of staged: [Staged], into count: Int) -> [Part] {
        // Tenants joined by a batch they share form one group (union-find over tenants).
        var root = [Int64: Int64]()
        func find(_ tenant: Int64) -> Int64 {
            var tenant = tenant
            while let parent = root[tenant], parent != tenant {
                root[tenant] = root[parent] ?? parent
                tenant = parent
            }
            return tenant
        }
        func join(_ first: Int64, _ second: Int64) {
            let (a, b) = (find(first), find(second))
            if a != b { root[max(a, b)] = min(a, b) }
        }
        // A batch joins its tenants, and so does a shared lock key (`stage_flush_part()`
        // try-locks `tenant % 2147483647`): two parts never wait on one key.
        var firstTenantOfBatch = [Int64: Int64]()
        var firstTenantOfKey = [Int64: Int64]()
        for pair in staged {
            if root[pair.tenant] == nil { root[pair.tenant] = pair.tenant }
            if let other = firstTenantOfBatch[pair.batch] { join(other, pair.tenant) } else { firstTenantOfBatch[pair.batch] = pair.tenant }
            let key = pair.tenant % 2_147_483_647
            if let other = firstTenantOfKey[key] { join(other, pair.tenant) } else { firstTenantOfKey[key] = pair.tenant }
        }
        var groups = [Int64: Part]()
        for pair in staged.sorted(by: { ($0.batch, $0.tenant) < ($1.batch, $1.tenant) }) {
            groups[find(pair.tenant), default: Part()].add(pair)
        }
        let count = max(1, min(count, groups.count))
        var parts = Array(repeating: Part(), count: count)
        let largestFirst = groups.sorted { $0.value.rows != $1.value.rows ? $0.value.rows > $1.value.rows : $0.key < $1.key }
        for (_, group) in largestFirst {
            var lightest = 0
            for index in 1..<count where parts[index].rows < parts[lightest].rows { lightest = index }
            parts[lightest].merge(group)
        }
        return parts.filter { !$0.batchIDs.isEmpty }
    }
}

extension FlushSplit.Part {
    mutating func add(_ pair: FlushSplit.Staged) {
        self.batchIDs.append(pair.batch)
        self.tenantIDs.append(pair.tenant)
        self.rows += pair.rows
    }

    mutating func merge(_ other: FlushSplit.Part) {
        self.batchIDs += other.batchIDs
        self.tenantIDs += other.tenantIDs
        self.rows += other.rows
    }
}
