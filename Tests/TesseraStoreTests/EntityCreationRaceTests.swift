import Foundation
import PostgresNIO
import TesseraCore
import TesseraTestSupport
import Testing

@testable import TesseraStore

/// Two requests creating the same new entity at once (migration 0025): each gets its id, the
/// entity is made once and counted once. Before, one of them now and then got none, and its
/// points were refused as past the tenant's entity limit. And requests making new entities at
/// once near the tenant's cap: never past it.
@Suite struct EntityCreationRaceTests {
    @Test func concurrentFirstWritesOfAnEntityBothGetItsID() async throws {
        let database = try await TestCluster.freshDatabase()
        try await withTestClient(url: database) { client in _ = try await Migrator(client: client, logger: quietLogger).migrate() }
        let tenant = try await withTestClient(url: database) { client in
            try await Catalog(client: client, logger: quietLogger).createTenant(name: "racing").0
        }
        // As the server connects: tessera_app, two connections racing.
        try await withTestClient(url: ServerRole.url(for: database)) { client in
            @Sendable func create(_ keys: [String]) async throws -> Set<String> {
                let rows = try await client.query("SELECT external_key FROM create_entities(\(tenant.id), \(keys)::text[])", logger: quietLogger)
                var found = Set<String>()
                for try await key in rows.decode(String.self) { found.insert(key) }
                return found
            }
            var missed = [String]()
            for index in 0..<150 {
                let keys = ["new-\(index)", "shared"]
                async let first = create(keys)
                async let second = create(keys)
                let (a, b) = try await (first, second)
                if a != Set(keys) || b != Set(keys) { missed.append("new-\(index): \(a.sorted()) \(b.sorted())") }
            }
            #expect(missed.isEmpty, "\(missed.prefix(5))")
        }
        try await withTestClient(url: database) { client in
            let rows = try await client.query(
                "SELECT t.entity_count, (SELECT count(*) FROM entities AS e WHERE e.tenant_id = t.tenant_id) FROM tenants AS t WHERE t.tenant_id = \(tenant.id)",
                logger: quietLogger
            )
            for try await (counted, made) in rows.decode((Int64, Int64).self) {
                #expect(made == 151)
                #expect(counted == made)
            }
        }
    }

    @Test func concurrentCreationsNearTheCapStopExactlyAtIt() async throws {
        let database = try await TestCluster.freshDatabase()
        try await withTestClient(url: database) { client in _ = try await Migrator(client: client, logger: quietLogger).migrate() }
        let tenant = try await withTestClient(url: database) { client in
            let tenant = try await Catalog(client: client, logger: quietLogger).createTenant(name: "capped").0
            try await client.query("UPDATE tenants SET max_entities = 50 WHERE tenant_id = \(tenant.id)", logger: quietLogger)
            return tenant
        }
        // Eight requests of 20 new keys each at once, against room for 50.
        let granted = try await withTestClient(url: ServerRole.url(for: database)) { client in
            try await withThrowingTaskGroup(of: [String: Int64].self) { group in
                for request in 0..<8 {
                    group.addTask {
                        let keys = (0..<20).map { "r\(request)-k\($0)" }
                        let rows = try await client.query(
                            "SELECT external_key, entity_id FROM create_entities(\(tenant.id), \(keys)::text[])",
                            logger: quietLogger
                        )
                        var found = [String: Int64]()
                        for try await (key, id) in rows.decode((String, Int64).self) { found[key] = id }
                        return found
                    }
                }
                var all = [String: Int64]()
                for try await found in group { all.merge(found) { first, _ in first } }
                return all
            }
        }
        #expect(granted.count == 50, "the requests were given \(granted.count) entities against a cap of 50")
        try await withTestClient(url: database) { client in
            let rows = try await client.query(
                "SELECT t.entity_count, (SELECT count(*) FROM entities AS e WHERE e.tenant_id = t.tenant_id), (SELECT count(*) FROM entities AS e WHERE e.tenant_id = t.tenant_id AND e.entity_id = ANY(\(Array(granted.values))::bigint[])) FROM tenants AS t WHERE t.tenant_id = \(tenant.id)",
                logger: quietLogger
            )
            for try await (counted, made, grantedAndStored) in rows.decode((Int64, Int64, Int64).self) {
                #expect(made == 50)
                #expect(counted == made)
                // Every id a request was given is an entity that exists: none was taken back after.
                #expect(grantedAndStored == 50)
            }
        }
    }
}
