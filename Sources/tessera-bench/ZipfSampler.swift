import Foundation

/// Draws ranks 0..<n with Zipf(s) popularity (rank k has weight 1/(k+1)^s), by
/// binary search over the cumulative weights.
struct ZipfSampler: Sendable {
    private let cumulative: [Double]

    init(n: Int, s: Double) {
        var cumulative = [Double]()
        cumulative.reserveCapacity(n)
        var sum = 0.0
        for rank in 0..<n {
            sum += 1 / pow(Double(rank + 1), s)
            cumulative.append(sum)
        }
        self.cumulative = cumulative.map { $0 / sum }
    }

    /// The steady-state hit rate of a perfect cache at this popularity under `rate`
    /// lookups a second, for a rank looked up λ times a second (Poisson):
    /// - entries living `ttl` seconds from the miss that filled them: one miss, then
    ///   λ·ttl hits, over and over (renewal), so λ·ttl / (1 + λ·ttl) of its lookups hit;
    /// - entries living `ttl` from their last hit (`sliding`): a lookup hits when the
    ///   previous one came less than `ttl` before, 1 − e^(−λ·ttl).
    func idealHitRate(lookupsPerSecond rate: Double, ttlSeconds ttl: Double, sliding: Bool) -> Double {
        var previous = 0.0
        var hits = 0.0
        for cumulative in self.cumulative {
            let share = cumulative - previous
            previous = cumulative
            let perTTL = share * rate * ttl
            hits += share * (sliding ? -expm1(-perTTL) : perTTL / (1 + perTTL))
        }
        return hits
    }

    func next(_ random: inout SplitMix64) -> Int {
        let draw = Double(random.next() >> 11) / Double(1 << 53)
        var low = 0
        var high = self.cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if self.cumulative[middle] < draw { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

extension BenchDataset {
    /// The tenant and entity of a global entity index (tenants' entities laid end to end),
    /// after a fixed shuffle so popular ranks spread over tenants.
    func entity(atRank rank: Int) -> (tenant: Int, entity: Int) {
        let total = self.entityCounts.reduce(0, +)
        var index = Int((UInt64(rank) &* 2_654_435_761) % UInt64(total))
        for (tenant, count) in self.entityCounts.enumerated() {
            if index < count { return (tenant, index) }
            index -= count
        }
        return (0, 0)
    }
}
