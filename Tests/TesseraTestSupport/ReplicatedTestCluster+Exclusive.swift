import PostgresNIO
import TesseraCore

extension ReplicatedTestCluster {
    /// Runs `body` with the replicated cluster to itself: no other test of this process
    /// that takes it runs meanwhile, whatever its suite or target. Every test that
    /// pauses or stops a replica, or asserts where reads go, takes it: `.serialized`
    /// orders only the tests of one suite, and the router tests (TesseraRoutingTests)
    /// and the HTTP routing tests (TesseraServerTests) share this cluster in one process.
    package static func exclusively<T: Sendable>(_ body: (Topology) async throws -> T) async throws -> T {
        let topology = try await self.topology()
        await exclusiveUse.enter()
        do {
            let result = try await body(topology)
            await exclusiveUse.leave()
            return result
        } catch {
            await exclusiveUse.leave()
            throw error
        }
    }
}

extension ReplicatedTestCluster.Topology {
    /// Starts what a test stopped (`cluster.up()`) and waits until every replica streams and
    /// has replayed the primary's position, so the next test finds the cluster as it was.
    package func restoreReplicas(timeout: Duration = .seconds(60)) async throws {
        _ = try await self.cluster.up()
        let expected = self.replicas.count
        let deadline = ContinuousClock.now + timeout
        try await withTestClient(url: self.primary) { client in
            while ContinuousClock.now < deadline {
                let rows = try await client.query(
                    """
                    SELECT count(*)::int FROM pg_stat_replication
                     WHERE state = 'streaming' AND replay_lsn >= pg_current_wal_lsn() - 65536
                    """
                )
                for try await caughtUp in rows.decode(Int.self) where caughtUp >= expected { return }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }
}

private let exclusiveUse = ExclusiveUse()

/// One holder at a time, the others wait in arrival order.
private actor ExclusiveUse {
    private var held = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func enter() async {
        guard self.held else {
            self.held = true
            return
        }
        await withCheckedContinuation { self.waiters.append($0) }
    }

    /// Hands the cluster to the next waiter, if any.
    func leave() {
        if self.waiters.isEmpty {
            self.held = false
        } else {
            self.waiters.removeFirst().resume()
        }
    }
}
