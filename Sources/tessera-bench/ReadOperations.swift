import Foundation
import TesseraCore

/// The read operations every benchmarked system answers, drawn from one seeded
/// generator so Tessera and its peers get the same entities and thresholds, and
/// their form as Tessera HTTP requests.
enum ReadOperations {
    /// One entity's latest state: a tenant by traffic share, an entity of it.
    struct Lookup {
        var tenant: Int
        var entity: Int
    }
    /// Entities of a tenant with `a0 > low AND a1 < high` (values are uniform in 0–1000).
    struct Filter {
        var tenant: Int
        var low: Double
        var high: Double
    }

    static func lookup(_ layout: BenchDataset, _ random: inout SplitMix64) -> Lookup {
        let tenant = layout.pickTenant(&random)
        return Lookup(tenant: tenant, entity: Int(random.next() % UInt64(layout.entityCounts[tenant])))
    }

    static func filter(_ layout: BenchDataset, _ random: inout SplitMix64) -> Filter {
        let tenant = layout.pickTenant(&random)
        return Filter(tenant: tenant, low: 900 + Double(random.next() % 90), high: 10 + Double(random.next() % 90))
    }

    static func http(_ lookup: Lookup, consistency: String? = nil) -> ReadBenchRunner.Request {
        (.GET, "/v1/entities/dev-\(lookup.entity)" + (consistency.map { "?consistency=\($0)" } ?? ""), nil, lookup.tenant)
    }

    static func http(_ filter: Filter) -> ReadBenchRunner.Request {
        let body =
            #"{"filter": {"and": [{"attribute": "a0", "op": ">", "value": \#(filter.low)}, {"attribute": "a1", "op": "<", "value": \#(filter.high)}]}, "limit": 100}"#
        return (.POST, "/v1/query/entities", body, filter.tenant)
    }

    /// Tenant 0's `dev-0`, `a0`, the last 7 days (one point a minute: 10,080).
    static func seriesHTTP() -> ReadBenchRunner.Request {
        (.GET, "/v1/entities/dev-0/series/a0?from=\(self.daysAgo(7))&limit=10000", nil, 0)
    }

    /// Tenant 0's `a0` by hour over the last 30 days (the planted 1M points).
    static func aggregateHTTP() -> ReadBenchRunner.Request {
        let body = #"{"attribute": "a0", "from": "\#(self.daysAgo(30))", "to": "\#(self.daysAgo(-1))", "bucket": "1h", "fn": ["avg", "min", "max", "count"]}"#
        return (.POST, "/v1/query/aggregate", body, 0)
    }

    static func daysAgo(_ days: Int) -> String {
        Timestamps.format(micros: Int64((Date().timeIntervalSince1970 - Double(days) * 86_400) * 1_000_000))
    }
}
