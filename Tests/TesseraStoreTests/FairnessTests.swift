import Foundation
import TesseraCore
import TesseraStore
import TesseraTestSupport
import Testing

/// One tenant floods the write path (the seed's largest tenant sends 40% of all
/// traffic; this one sends far more); a small tenant's batches are still acknowledged:
/// `submit` returns for each of them, and soon.
@Suite struct FairnessTests {
    @Test func aSmallTenantIsStillAcknowledgedUnderABigTenantsFlood() async throws {
        let limits = IngestQueue<IngestPipeline.Pending>.Limits(maxPoints: 20_000, maxBytes: 64 << 20, tenantShare: 0.5, quantum: 1_000)
        let shared = try await TestCluster.primaryURL()
        try await PipelineHarness.run(database: shared, configuration: .init(limits: limits, writers: 1)) { harness in
            let big = try await harness.tenant("big")
            let small = try await harness.tenant("small")
            // `load` is created on first sight, as over HTTP; each batch's points are resolved
            // per submit (time: now), as a request's are.
            let bigBatch = (0..<2_000).map { PipelineHarness.point("b-\($0 % 50)", "load", $0, index: $0) }
            let smallBatch = (0..<100).map { PipelineHarness.point("s-\($0 % 5)", "load", $0, index: $0) }

            // The small tenant's attribute and entities exist before the flood: its first
            // batch's catalog writes are not what this measures.
            try await harness.submit(smallBatch, tenant: small)

            let flood = Task {
                try await withThrowingTaskGroup(of: [TesseraError.Code?].self) { group in
                    for _ in 0..<6 {
                        group.addTask {
                            // nil: acknowledged; else the code `submit` refused with.
                            var outcomes = [TesseraError.Code?]()
                            let end = ContinuousClock.now + .seconds(10)
                            while ContinuousClock.now < end {
                                do throws(TesseraError) {
                                    try await harness.submit(bigBatch, tenant: big)
                                    outcomes.append(nil)
                                } catch {
                                    outcomes.append(error.code)
                                    // A refusal comes back at once, where over HTTP each try cost
                                    // parsing a 2,000-point body: a short pause keeps six flooding
                                    // loops from spinning the machine's cores instead of the writer.
                                    try await Task.sleep(for: .milliseconds(5))
                                }
                            }
                            return outcomes
                        }
                    }
                    return try await group.reduce(into: []) { $0 += $1 }
                }
            }
            try await Task.sleep(for: .milliseconds(500))
            var smallRefusals = [TesseraError.Code]()
            var latencies = [Duration]()
            for _ in 0..<20 {
                let start = ContinuousClock.now
                do throws(TesseraError) {
                    try await harness.submit(smallBatch, tenant: small)
                } catch {
                    smallRefusals.append(error.code)
                }
                latencies.append(ContinuousClock.now - start)
                try await Task.sleep(for: .milliseconds(50))
            }
            let bigOutcomes = try await flood.value

            #expect(smallRefusals.isEmpty, "small tenant refused: \(smallRefusals.map(\.rawValue))")
            // The flood was held to its share: some of its batches were told to back off.
            #expect(bigOutcomes.contains(.rateLimited))
            #expect(bigOutcomes.allSatisfy { $0 == nil || $0 == .rateLimited }, "\(Set(bigOutcomes.compactMap { $0?.rawValue }))")
            // A starved tenant would wait for the flood to end (its first batch ≥ 9.5 s); a fair
            // queue acknowledges each batch within a staging write or two: 0.2 s alone, up to ~3 s on a
            // machine running the whole suite at once.
            let slowest = latencies.max() ?? .zero
            #expect(slowest < .seconds(8), "small tenant's slowest batch: \(slowest)")
        }
    }
}
