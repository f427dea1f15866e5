import Foundation
import PostgresNIO
import TesseraCore
import TesseraLocal
import TesseraStore
import TesseraTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// DESIGN.md's durability promise, for real: the PostgreSQL postmaster is killed with
/// SIGKILL in the middle of steady ingest and started again. Its crash recovery empties
/// the UNLOGGED staging table; the pipeline must replay exactly the acknowledged batches
/// that had not been flushed. Acknowledged means `submit` returned.
@Suite struct CrashRecoveryTests {
    @Test func aDatabaseCrashLosesNoAcknowledgedPointAndStoresNoneTwice() async throws {
        let directory = NSTemporaryDirectory() + "tessera-crash-\(UUID().uuidString.prefix(8))"
        defer {
            LocalCluster.stopNow(directory: directory)
            // With TESSERA_TEST_LOG set, the cluster's folder (its PostgreSQL log) is kept.
            if ProcessInfo.processInfo.environment["TESSERA_TEST_LOG"] == nil {
                try? FileManager.default.removeItem(atPath: directory)
            }
        }
        let cluster = LocalCluster(configuration: .init(directory: directory, profile: .test), logger: quietLogger)
        let status = try await cluster.up()
        ServerRole.register(status)
        let url = try DatabaseURL(parsing: try #require(status.primary).url)
        try await withTestClient(url: url) { client in _ = try await Migrator(client: client, logger: quietLogger).migrate() }

        try await PipelineHarness.run(
            database: url,
            // A long flush interval keeps acknowledged batches staged when the crash comes.
            configuration: .init(writers: 1, flushInterval: .seconds(5), lossCheckAge: .milliseconds(500)),
            // Resolution is answered from the resolver's caches once the entities exist,
            // so what meets the outage is `submit` alone.
            resolverRules: .init(attributeCacheTTL: .seconds(3_600)),
            within: .seconds(600)
        ) { harness in
            let tenant = try await harness.tenant("crash", attributes: [AttributeDefinition(name: "seq", type: .int, hot: true)])
            let pipeline = harness.pipeline

            var acknowledged = [Int]()
            var failed = 0
            var killed = false
            var restart: Task<Void, any Error>?
            for request in 0..<120 {
                let values = (0..<25).map { request * 1_000 + $0 }
                let rows = try await harness.rows(Self.points(values), tenant: tenant)
                do throws(TesseraError) {
                    _ = try await pipeline.submit(rows, tenant: tenant.id)
                    acknowledged.append(contentsOf: values)
                } catch {
                    // Not acknowledged: the caller gets a retryable refusal (the HTTP layer's
                    // 503 with Retry-After), never an internal error.
                    #expect(error.code == .unavailable, "\(error.code): \(error.detail)")
                    failed += 1
                }
                // Kill once acknowledged batches wait in staging (a flush may just have taken
                // them all: then at the next request).
                // Flushes are held off (their lock taken on a connection of the test's own)
                // from the count to the kill, so the batches counted are the ones lost.
                let holder = request >= 40 && !killed ? try await TestConnection.holdFlushes(url) : nil
                if let holder, try await Self.stagedRows(on: holder) == 0 {
                    try await holder.close()
                } else if let holder {
                    // The whole instance at once, as a machine or OOM crash takes it: the
                    // postmaster and its backends, so no orphaned backend finishes a flush
                    // after the "crash".
                    let pid = try #require(try cluster.status().primary?.pid)
                    let backends = Self.children(of: pid)
                    #expect(kill(pid, SIGKILL) == 0)
                    for backend in backends { _ = kill(backend, SIGKILL) }
                    killed = true
                    // Its server is gone: the close answers at once, or is given up.
                    _ = try? await Deadline.run(within: .seconds(5), "closing the lock holder") { try await holder.close() }
                    restart = Task {
                        // Until the killed postmaster's backends are gone, a start fails:
                        // retry against a deadline, not a count, as a loaded machine is slow.
                        try await Task.sleep(for: .seconds(2))
                        let deadline = ContinuousClock.now + .seconds(120)
                        while true {
                            do {
                                let restarted = try await cluster.up()
                                // The pipeline's pool and staging connections know the old port:
                                // on another one they would wait for the database forever.
                                #expect(restarted.primary?.port == url.port, "the primary came back on another port")
                                return
                            } catch {
                                if ContinuousClock.now > deadline { throw error }
                                try await Task.sleep(for: .seconds(1))
                            }
                        }
                    }
                }
                try await Task.sleep(for: .milliseconds(40))
            }
            try await restart?.value
            #expect(killed)
            // Once the database is back, submits are acknowledged again (the pool
            // reconnects with backoff: the first may still be refused).
            var afterRestart = 0
            let writable = ContinuousClock.now + .seconds(60)
            var request = 120
            while afterRestart < 10, ContinuousClock.now < writable {
                request += 1
                let values = (0..<25).map { request * 1_000 + $0 }
                let rows = try await harness.rows(Self.points(values), tenant: tenant)
                do throws(TesseraError) {
                    _ = try await pipeline.submit(rows, tenant: tenant.id)
                    acknowledged.append(contentsOf: values)
                    afterRestart += 1
                } catch {
                    #expect(error.code == .unavailable, "\(error.code): \(error.detail)")
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            #expect(afterRestart == 10)

            // Wait until the pipeline has seen every acknowledged batch flushed.
            try await harness.waitUntilFlushed(within: .seconds(60))
            // The crash did cost staged batches. (Submits during the outage mostly wait for
            // the pool to reconnect; any that fail were refused as unavailable, checked above.)
            #expect(pipeline.replayedBatches > 0)
            _ = failed

            let stored = try await withTestClient(url: url) { client in
                let rows = try await client.query("SELECT value_int, count(*) FROM entity_values_ts WHERE tenant_id = \(tenant.id) GROUP BY value_int")
                var stored = [Int: Int]()
                for try await (value, count) in rows.decode((Int, Int).self) { stored[value] = count }
                return stored
            }
            // Every acknowledged point exactly once; nothing at all twice.
            let missing = acknowledged.filter { stored[$0] == nil }
            #expect(missing.isEmpty, "\(missing.count) acknowledged points lost, e.g. \(missing.prefix(5))")
            #expect(stored.values.allSatisfy { $0 == 1 }, "points stored twice: \(stored.filter { $0.value > 1 }.count)")
            // Per entity: count and checksum of what was acknowledged is what is stored.
            for entity in 0..<7 {
                let expected = acknowledged.filter { $0 % 7 == entity }
                let found = stored.keys.filter { $0 % 7 == entity && acknowledged.contains($0) }
                #expect(found.count == expected.count)
                #expect(found.reduce(0, +) == expected.reduce(0, +))
            }
        }
    }

    /// One `seq` point per value, on entity `e-(value % 7)`. Each value its own time (epoch
    /// milliseconds 1_764_000_000_000 + value): a point is (entity, attribute, time), and a
    /// second value at the same time would replace the first.
    static func points(_ values: [Int]) -> [IncomingPoint] {
        values.enumerated().map { index, value in
            PipelineHarness.point("e-\(value % 7)", "seq", value, at: (1_764_000_000_000 + Int64(value)) * 1_000, index: index)
        }
    }

    /// Rows waiting in the staging table, read on a connection of its own.
    static func stagedRows(on connection: PostgresConnection) async throws -> Int {
        try await TestConnection.number("SELECT count(*)::int FROM entity_values_ingest", on: connection) ?? 0
    }

    /// The processes whose parent is `pid`.
    static func children(of pid: Int32) -> [Int32] { ProcessControl.children(of: pid) }
}
