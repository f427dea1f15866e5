import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import TesseraServer
import TesseraStore
import TesseraTestSupport
import Testing

/// A statement of a request names the request in `pg_stat_activity`: an operator who finds
/// a slow or waiting query there reads its request id in `application_name`, and finds the
/// request's log lines and audit entry by it.
@Suite struct RequestTagTests {
    @Test func aDeleteWaitingInTheDatabaseNamesItsRequestInPgStatActivity() async throws {
        let database = try await DeletedEntityWriteTests.migratedDatabase()
        try await APITester.run(primary: database) { client, dependencies in
            let tenant = try await client.createTenant("traced")
            let written = try await client.send(
                .post,
                "/v1/ingest?durability=safe",
                key: tenant.key,
                json: #"{"points":[{"entity":"t-1","attribute":"temp","value":1}]}"#
            )
            #expect(written.status == .ok)
            var seen: String?
            try await TestConnection.withConnection(database) { holder in
                // The delete's transaction names its request, then waits for the deletion lock.
                try await holder.query("SELECT pg_advisory_lock(\(AdvisoryLock.deletion))", logger: quietLogger)
                async let deleted = client.send(
                    .delete,
                    "/v1/entities/t-1",
                    key: tenant.key,
                    headers: [HTTPField.Name("X-Request-Id")!: "trace-me-42"]
                )
                let deadline = ContinuousClock.now + .seconds(30)
                while seen == nil, ContinuousClock.now < deadline {
                    let rows = try await dependencies.primary.query(
                        "SELECT application_name FROM pg_stat_activity WHERE application_name LIKE '% trace-me-42' AND wait_event_type = 'Lock'"
                    )
                    for try await name in rows.decode(String.self) { seen = name }
                    if seen == nil { try await Task.sleep(for: .milliseconds(50)) }
                }
                try await holder.query("SELECT pg_advisory_unlock(\(AdvisoryLock.deletion))", logger: quietLogger)
                let response = try await deleted
                #expect(response.status == .noContent, "\(response.text)")
                #expect(response.headers[HTTPField.Name("X-Request-Id")!] == "trace-me-42")
            }
            #expect(seen == "tessera/primary trace-me-42")
            // Once its transaction is over, the connection has its pool's name again.
            let after = try await dependencies.primary.query(
                "SELECT count(*)::int FROM pg_stat_activity WHERE application_name LIKE '%trace-me-42%'"
            )
            for try await count in after.decode(Int.self) { #expect(count == 0) }
        }
    }
}
