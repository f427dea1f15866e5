import Foundation
import NIOCore

/// The ingest benchmark's synthetic load, seeded and reproducible: tenants whose
/// traffic shares follow the seed (the largest sends 40%), a million entities spread
/// by the same shares, 50 attributes per tenant (10 hot), 10% text values.
struct BenchDataset {
    struct Shape {
        var tenants = 100
        var entities = 1_000_000
        var attributes = 50
        var hotAttributes = 10
        var textAttributes = 5
        var largestShare = 0.4
        var batchPoints = 1_000
        var distinctBodies = 240
    }

    let shape: Shape
    /// Traffic share per tenant; sums to 1.
    let shares: [Double]
    /// Entities per tenant.
    let entityCounts: [Int]

    init(shape: Shape) {
        self.shape = shape
        let rest = (1 - shape.largestShare) / Double(max(1, shape.tenants - 1))
        self.shares = (0..<shape.tenants).map { $0 == 0 ? (shape.tenants == 1 ? 1 : shape.largestShare) : rest }
        self.entityCounts = self.shares.map { max(1, Int((Double(shape.entities) * $0).rounded())) }
    }

    func attributeName(_ index: Int) -> String { "a\(index)" }
    func isText(_ attribute: Int) -> Bool { attribute >= self.shape.attributes - self.shape.textAttributes }
    func isHot(_ attribute: Int) -> Bool { attribute < self.shape.hotAttributes }

    /// Pre-built request bodies (JSON), each for one tenant, drawn by traffic share.
    func bodies(seed: UInt64) -> [(tenant: Int, body: ByteBuffer, points: Int)] {
        var random = SplitMix64(seed: seed)
        var bodies = [(Int, ByteBuffer, Int)]()
        for _ in 0..<self.shape.distinctBodies {
            let tenant = self.pickTenant(&random)
            var text = #"{"points":["#
            // A point is (entity, attribute, time) and a body's points share their arrival
            // time: each body names a pair once, or its later point would replace the earlier.
            var pairs = Set<Int>()
            for point in 0..<self.shape.batchPoints {
                if point > 0 { text += "," }
                var entity = 0
                var attribute = 0
                repeat {
                    entity = Int(random.next() % UInt64(self.entityCounts[tenant]))
                    attribute = Int(random.next() % UInt64(self.shape.attributes))
                } while !pairs.insert(entity * self.shape.attributes + attribute).inserted && pairs.count < self.entityCounts[tenant] * self.shape.attributes
                let value =
                    self.isText(attribute)
                    ? "\"state-\(random.next() % 16)\""
                    : String(Double(random.next() % 100_000) / 100)
                text += #"{"entity":"dev-\#(entity)","attribute":"\#(self.attributeName(attribute))","value":\#(value)}"#
            }
            text += "]}"
            bodies.append((tenant, ByteBuffer(string: text), self.shape.batchPoints))
        }
        return bodies
    }

    /// A tenant drawn by traffic share.
    func pickTenant(_ random: inout SplitMix64) -> Int {
        let draw = Double(random.next() % 1_000_000) / 1_000_000
        var sum = 0.0
        for (index, share) in self.shares.enumerated() {
            sum += share
            if draw < sum { return index }
        }
        return self.shares.count - 1
    }
}

/// A small seeded generator, so every run builds the same load.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Exact percentiles of recorded latencies (all samples kept and sorted).
struct LatencySummary {
    var count: Int
    var p50: Double
    var p95: Double
    var p99: Double
    var max: Double

    init(milliseconds samples: [Double]) {
        let sorted = samples.sorted()
        func at(_ fraction: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            return sorted[min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.up)) - 1)]
        }
        self.count = sorted.count
        self.p50 = at(0.50)
        self.p95 = at(0.95)
        self.p99 = at(0.99)
        self.max = sorted.last ?? 0
    }
}
