import TesseraCore
import TesseraRouting
import Testing

/// The node choice as a pure function: no server needed.
@Suite struct RoutingPolicyTests {
    let policy = RoutingPolicy(configuration: .init(maxReplicaLagMilliseconds: 3_000))

    func node(_ name: String, _ role: ReadNode.Role, lag: Double? = 0, replayed: UInt64? = nil, available: Bool = true) -> RoutingPolicy.NodeView {
        RoutingPolicy.NodeView(name: name, role: role, lagMilliseconds: lag, replayed: replayed.map(LogSequenceNumber.init), available: available)
    }

    @Test func strongReadsOnlyTheprimary() {
        let nodes = [self.node("primary", .primary), self.node("replica-1", .replica, lag: 1)]
        #expect(self.policy.candidates(for: .strong, minimum: nil, nodes: nodes) == ["primary"])
    }

    @Test func eventualPrefersTheLeastLaggedHealthyReplicaUnderTheThresholdThenThePrimary() {
        let nodes = [
            self.node("primary", .primary),
            self.node("replica-1", .replica, lag: 900),
            self.node("replica-2", .replica, lag: 20),
            self.node("replica-3", .replica, lag: 3_000),  // at the threshold: out
            self.node("replica-4", .replica, lag: 5, available: false),  // breaker open: out
            self.node("replica-5", .replica, lag: nil),  // never measured: out
        ]
        #expect(self.policy.candidates(for: .eventual, minimum: nil, nodes: nodes) == ["replica-2", "replica-1", "primary"])
    }

    @Test func withNoUsableReplicaEventualFallsBackToThePrimary() {
        let nodes = [self.node("primary", .primary), self.node("replica-1", .replica, lag: 10_000)]
        #expect(self.policy.candidates(for: .eventual, minimum: nil, nodes: nodes) == ["primary"])
    }

    @Test func aCommitPositionKeepsReadsOffNodesThatHaveNotReplayedIt() {
        let nodes = [
            self.node("primary", .primary),
            self.node("replica-1", .replica, lag: 1, replayed: 100),
            self.node("replica-2", .replica, lag: 50, replayed: 300),
            self.node("replica-3", .replica, lag: 2, replayed: nil),
        ]
        #expect(self.policy.candidates(for: .eventual, minimum: LogSequenceNumber(200), nodes: nodes) == ["replica-2", "primary"])
        #expect(self.policy.candidates(for: .eventual, minimum: LogSequenceNumber(400), nodes: nodes) == ["primary"])
    }

    @Test func analyticsPrefersTheAnalyticsNodeThenReplicasThenThePrimary() {
        let nodes = [
            self.node("primary", .primary),
            self.node("replica-1", .replica, lag: 10),
            self.node("analytics", .analytics, lag: nil),
        ]
        #expect(self.policy.candidates(for: .analytics, minimum: nil, nodes: nodes) == ["analytics", "replica-1", "primary"])
        var down = nodes
        down[2].available = false
        #expect(self.policy.candidates(for: .analytics, minimum: nil, nodes: down) == ["replica-1", "primary"])
    }

    @Test func commitPositionsParseCompareAndPrintAsPostgreSQLDoes() {
        let position = LogSequenceNumber("16/B374D848")
        #expect(position?.value == 0x16_B374_D848)
        #expect(position?.description == "16/B374D848")
        #expect(LogSequenceNumber("0/0")?.value == 0)
        #expect(LogSequenceNumber("1/0")! > LogSequenceNumber("0/FFFFFFFF")!)
        for bad in ["", "16", "16/", "/1", "G/1", "1/2/3", "123456789/0", "1/ 2"] {
            #expect(LogSequenceNumber(bad) == nil, "\(bad)")
        }
    }
}
