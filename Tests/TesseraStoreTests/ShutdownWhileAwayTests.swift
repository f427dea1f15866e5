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

/// A graceful shutdown while the database is away (crashed, not back): it ends within the
/// drain timeout whatever the database does, and leaves the acknowledged batches it could not
/// see flushed in the spool; the next start on the same spool, once the database is back,
/// stages exactly those again (crash recovery emptied the staging table) and stores each
/// acknowledged point once.
@Suite struct ShutdownWhileAwayTests {
    @Test func aShutdownWithTheDatabaseAwayEndsInTimeAndTheNextStartStoresWhatWasAcknowledged() async throws {
        let directory = NSTemporaryDirectory() + "tessera-away-\(UUID().uuidString.prefix(8))"
        defer {
            LocalCluster.stopNow(directory: directory)
            if ProcessInfo.processInfo.environment["TESSERA_TEST_LOG"] == nil {
                try? FileManager.default.removeItem(atPath: directory)
            }
        }
        let cluster = LocalCluster(configuration: .init(directory: directory, profile: .test, redis: .off), logger: quietLogger)
        let status = try await cluster.up()
        ServerRole.register(status)
        let url = try DatabaseURL(parsing: try #require(status.primary).url)
        try await withTestClient(url: url) { client in _ = try await Migrator(client: client, logger: quietLogger).migrate() }
        let spool = directory + "/spool"
        let drainTimeout = Duration.seconds(4)
        // No flush before the crash: every acknowledged batch is still staged when it comes.
        let configuration = IngestPipeline.Configuration(
            writers: 1,
            flushInterval: .seconds(600),
            idleFlushInterval: .seconds(600),
            drainTimeout: drainTimeout,
            spoolDirectory: spool
        )
        let acknowledged = try await PipelineHarness.run(database: url, configuration: configuration, within: .seconds(180)) { harness in
            let tenant = try await harness.tenant("away", attributes: [AttributeDefinition(name: "seq", type: .int, hot: true)])
            var acknowledged = [Int]()
            for request in 0..<5 {
                let values = (0..<20).map { request * 1_000 + $0 }
                try await harness.submit(CrashRecoveryTests.points(values), tenant: tenant)
                acknowledged.append(contentsOf: values)
            }
            #expect(harness.pipeline.unflushedPoints == 100)

            // The whole instance at once, and it stays down.
            let pid = try #require(try cluster.status().primary?.pid)
            let backends = CrashRecoveryTests.children(of: pid)
            #expect(kill(pid, SIGKILL) == 0)
            for backend in backends { _ = kill(backend, SIGKILL) }

            let stopping = ContinuousClock.now
            try await harness.stop()
            let took = ContinuousClock.now - stopping
            #expect(took < drainTimeout + .seconds(3), "the shutdown took \(took)")
            return (tenant, acknowledged)
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: spool).filter { $0.hasSuffix(".copy") }
        #expect(files.count == 5, "spool: \(files)")

        // Back, from crash recovery: the staging table is empty.
        let deadline = ContinuousClock.now + .seconds(120)
        while true {
            do {
                let restarted = try await cluster.up()
                #expect(restarted.primary?.port == url.port)
                break
            } catch {
                if ContinuousClock.now > deadline { throw error }
                try await Task.sleep(for: .seconds(1))
            }
        }
        let (tenant, points) = acknowledged
        try await PipelineHarness.run(
            database: url,
            configuration: .init(writers: 1, lossCheckAge: .milliseconds(200), spoolDirectory: spool),
            within: .seconds(120)
        ) { harness in
            // The spool empties as its batches are seen flushed.
            let flushed = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < flushed, try FileManager.default.contentsOfDirectory(atPath: spool).contains(where: { $0.hasSuffix(".copy") }) {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(harness.pipeline.replayedBatches == 5)
            #expect(try await harness.storedPoints(tenant: tenant) == points.count)
            let distinct = try await harness.number("SELECT count(DISTINCT value_int)::int FROM entity_values_ts WHERE tenant_id = \(tenant.id)")
            #expect(distinct == points.count)
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: spool).filter { $0.hasSuffix(".copy") }
        #expect(left.isEmpty, "spool after the replay: \(left)")
    }
}
