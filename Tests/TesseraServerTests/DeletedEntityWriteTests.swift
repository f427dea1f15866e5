import Foundation
import HummingbirdTesting
import PostgresNIO
import TesseraCore
import TesseraServer
import TesseraStore
import TesseraTestSupport
import Testing

/// Points that reach the flush for an entity deleted in the meantime: staged before
/// the delete, they go with the entity; staged after it (by a server whose id cache
/// still had the entity), they bring it back with only themselves.
///
/// Each test has a database of its own: the tests hold off flushes (an advisory lock,
/// per database) while they stage and delete, which on the shared database would stall
/// every other test's flush.
@Suite struct DeletedEntityWriteTests {
    @Test func aPointStagedBeforeItsEntityWasDeletedIsNeitherStoredNorServedLater() async throws {
        // A long flush interval: the point waits in staging while the delete runs.
        let database = try await Self.migratedDatabase()
        try await APITester.run(ingest: .init(writers: 1, flushInterval: .seconds(3)), primary: database) { client, dependencies in
            let tenant = try await Self.tenantWithTempAndHum(client, "deleted")
            let first = try await client.send(
                .post,
                "/v1/ingest?durability=safe",
                key: tenant.key,
                json: #"{"points":[{"entity":"dev-1","attribute":"temp","value":1}]}"#
            )
            #expect(first.status == .ok)
            // No server's flush (the suite's other servers share the database) may move the
            // point before the delete.
            let holder = try await TestConnection.holdFlushes(database)
            let staged = try await client.send(.post, "/v1/ingest", key: tenant.key, json: #"{"points":[{"entity":"dev-1","attribute":"hum","value":5}]}"#)
            #expect(staged.status == .ok)
            #expect(dependencies.ingest.pipeline.unflushedPoints == 1)

            #expect(try await client.send(.delete, "/v1/entities/dev-1", key: tenant.key).status == .noContent)
            try await holder.close()
            try await Self.waitUntilFlushed(dependencies)

            try await client.send(.get, "/v1/entities/dev-1?consistency=strong", key: tenant.key).expectProblem("not_found", .notFound)
            let (points, projected) = try await Self.stored(tenant: tenant, key: "dev-1", in: database)
            #expect(points == 0, "the staged point of the deleted entity was stored")
            #expect(projected == false, "the deleted entity got a projection row again")

            // Written again, the entity holds only what came after the delete.
            let again = try await client.send(
                .post,
                "/v1/ingest?durability=safe",
                key: tenant.key,
                json: #"{"points":[{"entity":"dev-1","attribute":"temp","value":2}]}"#
            )
            #expect(again.status == .ok)
            let lookup = try await client.send(.get, "/v1/entities/dev-1?consistency=strong", key: tenant.key)
            #expect(lookup.status == .ok)
            let attributes = try #require(try lookup.object()["attributes"] as? [String: Any])
            #expect((attributes["temp"] as? [String: Any])?["value"] as? Double == 2)
            #expect(attributes["hum"] == nil, "a value written before the delete is served again: \(lookup.text)")
        }
    }

    @Test func anEntityWrittenAgainBeforeTheFlushDoesNotGetItsDeletedPointsBack() async throws {
        let database = try await Self.migratedDatabase()
        try await APITester.run(ingest: .init(writers: 1, flushInterval: .seconds(3)), primary: database) { client, dependencies in
            let tenant = try await Self.tenantWithTempAndHum(client, "again")
            let holder = try await TestConnection.holdFlushes(database)
            let staged = try await client.send(.post, "/v1/ingest", key: tenant.key, json: #"{"points":[{"entity":"dev-1","attribute":"hum","value":5}]}"#)
            #expect(staged.status == .ok)
            #expect(try await client.send(.delete, "/v1/entities/dev-1", key: tenant.key).status == .noContent)
            // Written again while the old point still waits in staging.
            let again = try await client.send(.post, "/v1/ingest", key: tenant.key, json: #"{"points":[{"entity":"dev-1","attribute":"temp","value":2}]}"#)
            #expect(again.status == .ok)
            try await holder.close()
            try await Self.waitUntilFlushed(dependencies)

            let lookup = try await client.send(.get, "/v1/entities/dev-1?consistency=strong", key: tenant.key)
            #expect(lookup.status == .ok)
            let attributes = try #require(try lookup.object()["attributes"] as? [String: Any])
            #expect((attributes["temp"] as? [String: Any])?["value"] as? Double == 2)
            #expect(attributes["hum"] == nil, "a value written before the delete is served again: \(lookup.text)")
            let (points, _) = try await Self.stored(tenant: tenant, key: "dev-1", in: database)
            #expect(points == 1)
        }
    }

    @Test func aServerStillHoldingADeletedEntitysIdBringsItBackWithItsNewPoints() async throws {
        let database = try await Self.migratedDatabase()
        try await APITester.run(primary: database) { serverA, _ in
            try await APITester.run(primary: database) { serverB, dependenciesB in
                let tenant = try await serverA.createTenant("stale")
                #expect(try await serverA.send(.put, "/v1/attributes/temp", key: tenant.key, json: #"{"type":"decimal","hot":true}"#).status == .created)
                // Server B writes first, so it has dev-1's id cached.
                let first = try await serverB.send(
                    .post,
                    "/v1/ingest?durability=safe",
                    key: tenant.key,
                    json: #"{"points":[{"entity":"dev-1","attribute":"temp","value":1}]}"#
                )
                #expect(first.status == .ok)
                // Server A deletes it; B is not told.
                #expect(try await serverA.send(.delete, "/v1/entities/dev-1", key: tenant.key).status == .noContent)
                let later = try await serverB.send(.post, "/v1/ingest", key: tenant.key, json: #"{"points":[{"entity":"dev-1","attribute":"temp","value":2}]}"#)
                #expect(later.status == .ok)
                try await Self.waitUntilFlushed(dependenciesB)

                // The acknowledged point is readable, on either server, and alone.
                for server in [serverA, serverB] {
                    let lookup = try await server.send(.get, "/v1/entities/dev-1?consistency=strong", key: tenant.key)
                    #expect(lookup.status == .ok, "\(lookup.text)")
                    let attributes = try lookup.object()["attributes"] as? [String: Any]
                    #expect((attributes?["temp"] as? [String: Any])?["value"] as? Double == 2)
                }
                let (points, projected) = try await Self.stored(tenant: tenant, key: "dev-1", in: database)
                #expect(points == 1)
                #expect(projected)
            }
        }
    }

    static func waitUntilFlushed(_ dependencies: TestServerDependencies) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while dependencies.ingest.pipeline.unflushedPoints > 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(dependencies.ingest.pipeline.unflushedPoints == 0)
    }

    /// Points in the time series and whether a projection row exists, for the entity
    /// with that key (deleted or not).
    static func stored(tenant: Tenant, key: String, in database: DatabaseURL) async throws -> (points: Int, projected: Bool) {
        try await withTestClient(url: database) { client in
            let rows = try await client.query(
                """
                SELECT (SELECT count(*) FROM entity_values_ts t WHERE t.tenant_id = e.tenant_id AND t.entity_id = e.entity_id),
                       EXISTS (SELECT 1 FROM entity_jsonb j WHERE j.tenant_id = e.tenant_id AND j.entity_id = e.entity_id)
                  FROM entities e WHERE e.tenant_id = \(tenant.id) AND e.external_key = \(key)
                """
            )
            for try await (points, projected) in rows.decode((Int, Bool).self) { return (points, projected) }
            return (0, false)
        }
    }

    /// A new database on the shared cluster, migrated.
    static func migratedDatabase() async throws -> DatabaseURL {
        let database = try await TestCluster.freshDatabase()
        try await withTestClient(url: database) { client in _ = try await Migrator(client: client, logger: quietLogger).migrate() }
        return database
    }

    /// A new tenant with two hot decimal attributes, `temp` and `hum`.
    static func tenantWithTempAndHum(_ client: any TestClientProtocol, _ prefix: String) async throws -> Tenant {
        let tenant = try await client.createTenant(prefix)
        for name in ["temp", "hum"] {
            #expect(try await client.send(.put, "/v1/attributes/\(name)", key: tenant.key, json: #"{"type":"decimal","hot":true}"#).status == .created)
        }
        return tenant
    }
}
