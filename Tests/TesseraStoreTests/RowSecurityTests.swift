import Foundation
import PostgresNIO
import TesseraCore
import TesseraStore
import TesseraTestSupport
import Testing

/// The wall between tenants (migration 0013), as the server's role meets it: with no
/// tenant set every tenant table reads empty; with a tenant set a statement without
/// any tenant predicate sees that tenant's rows only; and the role can neither change
/// the schema nor run programs.
@Suite struct RowSecurityTests {
    /// Every table that holds a tenant's data and the server's role may read.
    static let readable = [
        "tenants", "attributes", "entities", "entity_values_ts", "entity_jsonb", "entity_hot_numbers", "entity_values_hourly",
        "series_erasures",
    ]

    /// Two tenants with a row in every tenant table, written as the superuser; returns their ids.
    static func twoTenants(_ superuser: PostgresClient) async throws -> (Int64, Int64) {
        let catalog = Catalog(client: superuser, logger: quietLogger)
        var ids = [Int64]()
        for name in ["wall-a", "wall-b"] {
            let (tenant, _) = try await catalog.createTenant(name: "\(name)-\(UUID().uuidString.prefix(8))")
            _ = try await catalog.putAttribute(AttributeDefinition(name: "temp", type: .decimal, hot: true), tenant: tenant)
            let id = tenant.id
            try await superuser.query(
                """
                WITH e AS (INSERT INTO entities (tenant_id, external_key) VALUES (\(id), 'dev-1') RETURNING entity_id),
                     a AS (SELECT attribute_id FROM attributes WHERE tenant_id = \(id) AND name = 'temp')
                INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, value_decimal, ts)
                SELECT \(id), e.entity_id, a.attribute_id, 21.5, now() FROM e, a
                """
            )
            try await superuser.query(
                """
                INSERT INTO entity_jsonb (tenant_id, entity_id, attrs) SELECT tenant_id, entity_id, '{"temp": 21.5}' FROM entities WHERE tenant_id = \(id)
                """
            )
            try await superuser.query(
                "INSERT INTO entity_hot_numbers (tenant_id, entity_id, n0) SELECT tenant_id, entity_id, 21.5 FROM entities WHERE tenant_id = \(id)"
            )
            try await superuser.query(
                """
                INSERT INTO entity_values_hourly (tenant_id, attribute_id, hour, count, sum, min, max, first_ts, first_value, last_ts, last_value)
                SELECT tenant_id, attribute_id, date_trunc('hour', now()), 1, 21.5, 21.5, 21.5, now(), 21.5, now(), 21.5 FROM attributes WHERE tenant_id = \(id)
                """
            )
            try await superuser.query(
                """
                INSERT INTO series_erasures (tenant_id, entity_id, attribute_id, from_ts, to_ts, erased_at)
                SELECT e.tenant_id, e.entity_id, a.attribute_id, '-infinity', 'infinity', now()
                  FROM entities e JOIN attributes a USING (tenant_id) WHERE e.tenant_id = \(id)
                """
            )
            ids.append(id)
        }
        return (ids[0], ids[1])
    }

    static func count(_ table: String, on connection: PostgresConnection) async throws -> Int {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table)"), logger: quietLogger)
        for try await count in rows.decode(Int.self) { return count }
        return -1
    }

    static func tenants(_ table: String, on connection: PostgresConnection) async throws -> Set<Int64> {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT DISTINCT tenant_id FROM \(table)"), logger: quietLogger)
        var tenants = Set<Int64>()
        for try await tenant in rows.decode(Int64.self) { tenants.insert(tenant) }
        return tenants
    }

    /// The SQLSTATE a statement fails with; nil when it succeeds.
    static func refusal(_ sql: String, on connection: PostgresConnection) async -> String? {
        do {
            _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: quietLogger)
            return nil
        } catch let error as PSQLError {
            return error.serverInfo?[.sqlState] ?? "no sqlstate: \(error)"
        } catch {
            return "\(error)"
        }
    }

    @Test func withNoTenantSetEveryTenantTableReadsEmptyAndWithOneSetOnlyItsRowsAreSeen() async throws {
        let database = try await TestCluster.freshDatabase()
        try await withTestClient(url: database) { superuser in
            _ = try await Migrator(client: superuser, logger: quietLogger).migrate()
            let (a, b) = try await Self.twoTenants(superuser)
            try await superuser.withConnection { connection in
                for table in Self.readable {
                    let seen = try await Self.tenants(table, on: connection)
                    #expect(seen == [a, b], "the superuser sees both tenants in \(table)")
                }
            }
            try await withTestClient(url: ServerRole.url(for: database)) { server in
                try await server.withConnection { connection in
                    for table in Self.readable {
                        let count = try await Self.count(table, on: connection)
                        #expect(count == 0, "\(table) with no tenant set")
                    }
                }
                // Set for a transaction, with no tenant predicate in any statement.
                try await TenantScope.transaction(tenant: a, on: server, logger: quietLogger) { connection in
                    for table in Self.readable {
                        let seen = try await Self.tenants(table, on: connection)
                        #expect(seen == [a], "\(table) with tenant A set")
                    }
                }
                // Set in the statement itself (how reads run): the same, and gone after it.
                try await server.withConnection { connection in
                    for (tenant, other) in [(a, b), (b, a)] {
                        for table in Self.readable {
                            let query = TenantScope.read(PostgresQuery(unsafeSQL: "SELECT DISTINCT tenant_id FROM \(table)"), tenant: tenant)
                            var seen = Set<Int64>()
                            for try await row in try await connection.query(query, logger: quietLogger).decode(Int64.self) { seen.insert(row) }
                            #expect(seen == [tenant], "\(table) read for one tenant saw \(seen), not \(other)")
                        }
                        let after = try await Self.count("entities", on: connection)
                        #expect(after == 0, "the setting outlived its statement")
                    }
                }
            }
        }
    }

    @Test func theServersRoleCannotLeaveItsTenantCreateFunctionsRunProgramsOrChangeTheSchema() async throws {
        let database = try await TestCluster.freshDatabase()
        try await withTestClient(url: database) { superuser in
            _ = try await Migrator(client: superuser, logger: quietLogger).migrate()
            let (a, b) = try await Self.twoTenants(superuser)
            let partition = try await superuser.query(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'entity_values_ts'::regclass LIMIT 1"
            )
            var names = [String]()
            for try await name in partition.decode(String.self) { names.append(name) }
            let partitionName = try #require(names.first)

            try await withTestClient(url: ServerRole.url(for: database)) { server in
                let role = try await ServingRole.inspect(server, logger: quietLogger)
                #expect(role.problem == nil, "\(role)")
                try await server.withConnection { connection in
                    let denied = "42501"  // insufficient_privilege
                    #expect(await Self.refusal("CREATE FUNCTION tessera_probe() RETURNS int LANGUAGE sql AS 'SELECT 1'", on: connection) == denied)
                    #expect(await Self.refusal("COPY (SELECT 1) TO PROGRAM 'true'", on: connection) == denied)
                    #expect(await Self.refusal("ALTER TABLE entities ADD COLUMN probe int", on: connection) == denied)
                    #expect(await Self.refusal("ALTER TABLE entities DISABLE ROW LEVEL SECURITY", on: connection) == denied)
                    #expect(await Self.refusal("DROP POLICY tenant_wall ON entities", on: connection) == denied)
                    #expect(await Self.refusal("CREATE TABLE probe (x int)", on: connection) == denied)
                    #expect(await Self.refusal("SET ROLE tessera_owner", on: connection) == denied)
                    // Partitions are reached through their parent only (its wall).
                    #expect(await Self.refusal("SELECT count(*) FROM \(partitionName)", on: connection) == denied)
                    // What crosses tenants is read by the owner's functions only.
                    #expect(await Self.refusal("SELECT count(*) FROM entity_values_ingest", on: connection) == denied)
                    #expect(await Self.refusal("SELECT count(*) FROM ingest_quarantine", on: connection) == denied)
                    #expect(await Self.refusal("SELECT move_staged(NULL, NULL, NULL)", on: connection) == denied)
                    #expect(await Self.refusal("UPDATE tenants SET max_entities = 1", on: connection) == denied)
                }
                try await TenantScope.transaction(tenant: a, on: server, logger: quietLogger) { connection in
                    // Tenant A cannot write B's rows: they are not there to update or delete,
                    // and a row of B's is refused by the policy's check.
                    let updated = try await connection.query("UPDATE entities SET version = version + 1 WHERE tenant_id = \(b)", logger: quietLogger)
                    for try await _ in updated {}
                    let visible = try await Self.count("entities WHERE tenant_id = \(b)", on: connection)
                    #expect(visible == 0)
                }
                await #expect {
                    try await TenantScope.transaction(tenant: a, on: server, logger: quietLogger) { connection in
                        _ = try await connection.query("INSERT INTO entities (tenant_id, external_key) VALUES (\(b), 'intruder')", logger: quietLogger)
                    }
                } throws: { error in
                    // new row violates row-level security policy
                    let cause = (error as? PostgresTransactionError)?.closureError ?? error
                    return (cause as? PSQLError)?.serverInfo?[.sqlState] == "42501"
                }
            }
            let versions = try await superuser.query("SELECT version FROM entities WHERE tenant_id = \(b)")
            for try await version in versions.decode(Int64.self) { #expect(version == 1, "B's entity was changed by A") }
            let intruders = try await superuser.query("SELECT count(*) FROM entities WHERE external_key = 'intruder'")
            for try await count in intruders.decode(Int.self) { #expect(count == 0) }
        }
    }
}
