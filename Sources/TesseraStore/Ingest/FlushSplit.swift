/// How one flush's staged tenants are split between the sessions that run it at once
/// (`IngestPipeline.Configuration.flushSessions`, migration 0026): largest first, each to
/// the part with the fewest staged rows so far. A tenant is never split: a tenant's rows
/// are moved by one flush at a time.
package enum FlushSplit {
    /// A tenant's staged rows (`staged_tenants()`).
    package struct Staged: Sendable, Equatable {
        package var tenant: Int64
        package var rows: Int64

        package init(tenant: Int64, rows: Int64) {
            self.tenant = tenant
            self.rows = rows
        }
    }

    /// At most `count` parts, none empty, each a list of tenants sorted by id; every staged
    /// tenant in exactly one.
    package static func parts(of staged: [Staged], into count: Int) -> [[Int64]] {
        let count = max(1, min(count, staged.count))
        var parts = Array(repeating: [Int64](), count: count)
        var load = Array(repeating: Int64(0), count: count)
        let largestFirst = staged.sorted { $0.rows != $1.rows ? $0.rows > $1.rows : $0.tenant < $1.tenant }
        for tenant in largestFirst {
            var lightest = 0
            for index in 1..<count where load[index] < load[lightest] { lightest = index }
            parts[lightest].append(tenant.tenant)
            load[lightest] += tenant.rows
        }
        return parts.filter { !$0.isEmpty }.map { $0.sorted() }
    }
}
