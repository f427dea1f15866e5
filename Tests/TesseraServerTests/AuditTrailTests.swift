import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import TesseraCore
import TesseraStore
import TesseraTestSupport
import Testing

/// The audit trail: every request with a tenant's key and every admin action is appended
/// (tenant, key, action, target, status, address, request id, time); a tenant's admin key
/// reads its own trail, and only its own; the server's role cannot change it.
@Suite struct AuditTrailTests {
    /// The tenant's trail as its admin key reads it, once the servers appended it.
    static func trail(_ client: any TestClientProtocol, key: String, query: String = "") async throws -> [[String: Any]] {
        let response = try await client.send(.get, "/v1/audit\(query)", key: key)
        #expect(response.status == .ok, "\(response.text)")
        return try #require(try response.object()["entries"] as? [[String: Any]])
    }

    @Test func aTenantsRequestsAreInItsTrailWithTheirKeyRequestIDAndStatus() async throws {
        try await APITester.run(overHTTP: true) { client, dependencies in
            let tenant = try await client.createTenant("audited")
            let other = try await client.createTenant("audited-other")
            let reader = try await APIKeyTests.create(client, admin: tenant.key, name: "dashboard", scope: "read")
            let ingest = try await client.send(
                .post,
                "/v1/ingest?durability=safe",
                key: tenant.key,
                json: #"{"points": [{"entity": "dev-1", "attribute": "temp", "value": 21.5}]}"#,
                headers: [HTTPField.Name("X-Request-Id")!: "trace-ingest-1"]
            )
            #expect(ingest.status == .ok)
            #expect(ingest.headers[HTTPField.Name("X-Request-Id")!] == "trace-ingest-1")
            let read = try await client.send(.get, "/v1/entities/dev-1", key: reader.key)
            let readID = try #require(read.headers[HTTPField.Name("X-Request-Id")!])
            try await client.send(.post, "/v1/ingest", key: reader.key, json: "{}").expectProblem("insufficient_scope", .forbidden)
            _ = try await client.send(.get, "/v1/entities/dev-1", key: other.key)
            _ = try await client.send(.patch, "/v1/tenants/\(tenant.id)", key: APITester.adminToken, json: #"{"max_attributes": 50}"#)

            await dependencies.audit.appendPending()
            let entries = try await Self.trail(client, key: tenant.key)
            let byRequest = Dictionary(entries.compactMap { entry in (entry["request_id"] as? String).map { ($0, entry) } }, uniquingKeysWith: { a, _ in a })
            let written = try #require(byRequest["trace-ingest-1"])
            #expect(written["action"] as? String == "POST /v1/ingest")
            #expect(written["status"] as? Int == 200)
            #expect(written["actor"] as? String == "key")
            #expect(written["client_address"] as? String == "127.0.0.1")
            let looked = try #require(byRequest[readID])
            #expect(looked["action"] as? String == "GET /v1/entities/{key}")
            #expect(looked["target"] as? String == "/v1/entities/dev-1")
            #expect(looked["key_id"] as? Int == reader.id)
            #expect(entries.contains { $0["status"] as? Int == 403 && $0["key_id"] as? Int == reader.id }, "a refused write is audited too")
            #expect(entries.contains { $0["actor"] as? String == "admin" && $0["action"] as? String == "PATCH /v1/tenants/{id}" })
            #expect(entries.contains { $0["action"] as? String == "POST /v1/keys" && $0["status"] as? Int == 201 })
            // Oldest first, and nothing of the other tenant's.
            let times = entries.compactMap { $0["at"] as? String }
            #expect(times == times.sorted())
            let otherTrail = try await Self.trail(client, key: other.key)
            #expect(!otherTrail.isEmpty)
            #expect(otherTrail.allSatisfy { ($0["request_id"] as? String) != "trace-ingest-1" && ($0["key_id"] as? Int) != reader.id })
            // Only an admin key reads the trail.
            try await client.send(.get, "/v1/audit", key: reader.key).expectProblem("insufficient_scope", .forbidden)

            // Paged by time: two at a time, the cursor goes on where the last page ended.
            var paged = [Int]()
            var cursor: String?
            repeat {
                let response = try await client.send(.get, "/v1/audit?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""), key: tenant.key)
                let body = try response.object()
                paged += try #require(body["entries"] as? [[String: Any]]).compactMap { $0["id"] as? Int }
                cursor = body["next_cursor"] as? String
            } while cursor != nil
            let all = try await Self.trail(client, key: tenant.key, query: "?limit=1000").compactMap { $0["id"] as? Int }
            #expect(paged == Array(all.prefix(paged.count)) && paged.count >= entries.count)
            // A revoked key's attempts are in its tenant's trail too.
            #expect(try await client.send(.delete, "/v1/keys/\(reader.id)", key: tenant.key).status == .noContent)
            let refused = try await client.send(.get, "/v1/entities/dev-1", key: reader.key)
            try refused.expectProblem("key_revoked", .unauthorized)
            let refusedID = try #require(refused.headers[HTTPField.Name("X-Request-Id")!])
            await dependencies.audit.appendPending()
            let afterRevocation = try await Self.trail(client, key: tenant.key, query: "?limit=1000")
            #expect(afterRevocation.contains { $0["request_id"] as? String == refusedID && $0["status"] as? Int == 401 && $0["key_id"] as? Int == reader.id })
        }
    }

    @Test func theServersRoleCanReadItsTenantsTrailButNeitherWriteNorChangeIt() async throws {
        let url = try await TestCluster.primaryURL()
        try await withTestClient(url: ServerRole.url(for: url)) { server in
            try await server.withConnection { connection in
                for statement in [
                    "INSERT INTO audit_log (tenant_id, actor, action, target, status, at) VALUES (1, 'key', 'x', 'y', 200, now())",
                    "UPDATE audit_log SET status = 200",
                    "DELETE FROM audit_log",
                    "TRUNCATE audit_log",
                ] {
                    let state = await RowSecurityRefusal.sqlState(statement, on: connection)
                    #expect(state == "42501", "\(statement): \(state ?? "accepted")")
                }
            }
        }
    }

    @Test func theLocalClusterLogsSchemaChangesWithPgaudit() async throws {
        let url = try await TestCluster.primaryURL()
        try await withTestClient(url: url) { superuser in
            let loaded = try await superuser.query("SELECT current_setting('shared_preload_libraries'), current_setting('data_directory')")
            var libraries = ""
            for try await (preload, _) in loaded.decode((String, String).self) { libraries = preload }
            #expect(libraries.contains("pgaudit"), "pgaudit is not loaded: \(libraries)")
            let table = "audit_probe_\(UUID().uuidString.prefix(8).lowercased())"
            try await superuser.query(PostgresQuery(unsafeSQL: "CREATE TABLE \(table) (x int)"))
            try await superuser.query(PostgresQuery(unsafeSQL: "DROP TABLE \(table)"))
            let log = try await superuser.query("SELECT pg_current_logfile()")
            var logged: String?
            for try await file in log.decode(String?.self) { logged = file }
            // Without the logging collector the server logs to the file pg_ctl was given.
            let text = try TestCluster.serverLog()
            #expect(text.contains("AUDIT: SESSION") && text.contains("CREATE TABLE \(table)"), "log \(logged ?? "(pg_ctl's)")")
            #expect(!text.contains("PASSWORD '"), "a password reached the server's log")
        }
    }
}

/// The SQLSTATE a statement fails with; nil when it succeeds.
enum RowSecurityRefusal {
    static func sqlState(_ sql: String, on connection: PostgresConnection) async -> String? {
        do {
            _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: quietLogger)
            return nil
        } catch let error as PSQLError {
            return error.serverInfo?[.sqlState] ?? "\(error)"
        } catch {
            return "\(error)"
        }
    }
}
