import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import TesseraCore
import TesseraRouting
import TesseraServer
import TesseraStore
import TesseraTestSupport
import Testing

/// Reads routed across a real primary and two real streaming replicas, through the
/// API: what only HTTP carries (the commit position in headers and parameters). Where
/// each consistency goes, lag and breakers are tested on the router itself, in
/// TesseraRoutingTests' ReadRouterTests. The tests pause replicas of the shared
/// replicated cluster, so each has it to itself (`exclusively`).
@Suite(.serialized) struct ReplicaRoutingTests {
    /// Paused replicas must stay under it from the pause until the plain read, a safe write
    /// in between: under the whole suite's load that once took more than 1.5 s (the read went
    /// to the primary). Nothing here waits for a replica to pass it.
    static let lagThresholdMilliseconds = 20_000.0

    static func withReplicatedAPI(
        _ body: @escaping @Sendable (any TestClientProtocol, TestServerDependencies, ReplicatedTestCluster.Topology) async throws -> Void
    ) async throws {
        try await ReplicatedTestCluster.exclusively { topology in
            let reads = ServerDependencies.ReadTopology(
                replicas: topology.replicas,
                poolSize: 3,
                router: .init(
                    policy: .init(maxReplicaLagMilliseconds: Self.lagThresholdMilliseconds),
                    breaker: .init(failureThreshold: 5, coolDown: .seconds(1)),
                    leaseTimeout: .milliseconds(500)
                )
            )
            try await APITester.run(primary: topology.primary, readTopology: reads) { client, dependencies in
                // The monitor runs as a service; wait until it has seen both replicas.
                try await Self.until("both replicas measured") {
                    dependencies.reads.router.views().filter { $0.role == .replica && $0.lagMilliseconds != nil }.count == 2
                }
                try await body(client, dependencies, topology)
            }
        }
    }

    static func until(_ what: String, timeout: Duration = .seconds(20), _ condition: @Sendable () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("timed out waiting until \(what)")
        throw CancellationError()
    }

    static func source(_ response: TestResponse) -> String? {
        response.headers[HTTPField.Name("X-Tessera-Source")!]
    }

    static func setReplay(paused: Bool, on url: DatabaseURL) async throws {
        try await withTestClient(url: url) { client in
            try await client.query(paused ? "SELECT pg_wal_replay_pause()" : "SELECT pg_wal_replay_resume()")
        }
    }

    /// A tenant with one hot attribute and one entity written safely.
    static func seed(_ client: any TestClientProtocol) async throws -> Tenant {
        let tenant = try await client.createTenant("routing")
        _ = try await client.send(.put, "/v1/attributes/temp", key: tenant.key, json: #"{"type":"decimal","hot":true}"#)
        let response = try await client.send(
            .post,
            "/v1/ingest?durability=safe",
            key: tenant.key,
            json: #"{"points": [{"entity": "dev-1", "attribute": "temp", "value": 1}]}"#
        )
        #expect(response.status == .ok)
        return tenant
    }

    @Test func aWriterReadsItsOwnWriteByPassingTheCommitPosition() async throws {
        try await Self.withReplicatedAPI { client, dependencies, topology in
            let tenant = try await Self.seed(client)
            try await Self.until("the seed is on both replicas") {
                try await client.send(.get, "/v1/entities/dev-1", key: tenant.key).status == .ok
            }
            try await Self.setReplay(paused: true, on: topology.replicas[0])
            try await Self.setReplay(paused: true, on: topology.replicas[1])
            do {
                let write = try await client.send(
                    .post,
                    "/v1/ingest?durability=safe",
                    key: tenant.key,
                    json: #"{"points": [{"entity": "dev-new", "attribute": "temp", "value": 7}]}"#
                )
                let position = try #require(write.headers[HTTPField.Name("X-Tessera-Commit-LSN")!])
                #expect(LogSequenceNumber(position) != nil)
                // The replicas are paused but not yet past the threshold: a plain
                // eventual read goes to one and does not see the write...
                let plain = try await client.send(.get, "/v1/entities/dev-new", key: tenant.key)
                #expect(Self.source(plain)?.hasPrefix("replica-") == true)
                #expect(plain.status == .notFound)
                // ...while one that passes the position is served where the write is.
                let own = try await client.send(.get, "/v1/entities/dev-new?min_lsn=\(position)", key: tenant.key)
                #expect(own.status == .ok)
                #expect(Self.source(own) == "primary")
                let viaHeader = try await client.send(
                    .get,
                    "/v1/entities/dev-new",
                    key: tenant.key,
                    headers: [HTTPField.Name("X-Tessera-Commit-LSN")!: position]
                )
                #expect(viaHeader.status == .ok)
                // Entity writes carry the position too.
                let entity = try await client.send(.post, "/v1/entities", key: tenant.key, json: #"{"key": "dev-made"}"#)
                #expect(entity.headers[HTTPField.Name("X-Tessera-Commit-LSN")!] != nil)
            } catch {
                try? await Self.setReplay(paused: false, on: topology.replicas[0])
                try? await Self.setReplay(paused: false, on: topology.replicas[1])
                throw error
            }
            try await Self.setReplay(paused: false, on: topology.replicas[0])
            try await Self.setReplay(paused: false, on: topology.replicas[1])
            // Once replayed, a replica serves it, position and all.
            let write = try await client.send(
                .post,
                "/v1/ingest?durability=safe",
                key: tenant.key,
                json: #"{"points": [{"entity": "dev-new", "attribute": "temp", "value": 8}]}"#
            )
            let position = try #require(write.headers[HTTPField.Name("X-Tessera-Commit-LSN")!])
            try await Self.until("a replica serves the position") {
                let response = try await client.send(.get, "/v1/entities/dev-new?min_lsn=\(position)", key: tenant.key)
                guard Self.source(response)?.hasPrefix("replica-") == true else { return false }
                let value = ((try response.object()["attributes"] as? [String: Any])?["temp"] as? [String: Any])?["value"] as? Double
                #expect(value == 8)
                return true
            }
            _ = dependencies
        }
    }
}
