import Foundation
import HummingbirdTesting
import PostgresNIO
import Synchronization
import TesseraCore
import TesseraServer
import TesseraStore
import TesseraTestSupport
import Testing

/// Crypto-shredding: `pii` values are stored encrypted under their entity's data key,
/// read back in the clear through the API, never filtered or aggregated on; erasing the
/// subject destroys the key, and a backup taken before the erasure, restored, no longer
/// gives the value up, while another subject's values in the same backup still read.
@Suite struct CryptoShreddingTests {
    /// A key vault of the test's own (a database of the test cluster) and a new master key.
    static func privacy() async throws -> ServerDependencies.PrivacySettings {
        let vaultURL = try await TestCluster.freshDatabase()
        let settings = ServerDependencies.PrivacySettings(vaultURL: vaultURL, masterKey: try MasterKey(base64: MasterKey.generate()))
        try await withTestClient(url: vaultURL) { client in
            try await DataKeyVault(client: client, master: settings.masterKey, logger: quietLogger).prepare()
        }
        return settings
    }

    @Test func anErasedSubjectsValuesCannotBeReadFromABackupAndOthersCan() async throws {
        let privacy = try await Self.privacy()
        let database = try await DeletedEntityWriteTests.migratedDatabase()
        let alice = "alice-\(UUID().uuidString.prefix(8))@example.com"
        let bob = "bob-\(UUID().uuidString.prefix(8))@example.com"
        let tenantKeyBox = Mutex("")
        try await APITester.run(primary: database, privacy: privacy) { client, dependencies in
            let tenant = try await client.createTenant("pii")
            tenantKeyBox.withLock { $0 = tenant.key }
            let email = try await client.send(.put, "/v1/attributes/email", key: tenant.key, json: #"{"type": "text", "pii": true}"#)
            #expect(email.status == .created)
            #expect(try email.object()["pii"] as? Bool == true)
            // pii is never hot, and fixed at creation.
            try await client.send(.put, "/v1/attributes/phone", key: tenant.key, json: #"{"type": "text", "pii": true, "hot": true}"#)
                .expectProblem("invalid_parameter", .badRequest)
            try await client.send(.put, "/v1/attributes/email", key: tenant.key, json: #"{"type": "text"}"#)
                .expectProblem("attribute_type_conflict", .conflict)
            #expect(try await client.send(.put, "/v1/attributes/temp", key: tenant.key, json: #"{"type": "decimal", "hot": true}"#).status == .created)
            for (key, subject) in [("phone-a", "person-a"), ("phone-b", "person-b")] {
                #expect(
                    try await client.send(.post, "/v1/entities", key: tenant.key, json: #"{"key": "\#(key)", "subject": "\#(subject)"}"#).status == .created
                )
            }
            let points = [
                #"{"entity": "phone-a", "attribute": "email", "value": "\#(alice)", "ts": "2026-11-20T08:00:00Z"}"#,
                #"{"entity": "phone-a", "attribute": "temp", "value": 21.5, "ts": "2026-11-20T08:00:00Z"}"#,
                #"{"entity": "phone-b", "attribute": "email", "value": "\#(bob)", "ts": "2026-11-20T08:00:00Z"}"#,
            ]
            let written = try await client.send(.post, "/v1/ingest?durability=safe", key: tenant.key, json: #"{"points": [\#(points.joined(separator: ","))]}"#)
            #expect(written.status == .ok, "\(written.text)")
            #expect(!written.text.contains("rejected\":[{"), "\(written.text)")

            // Stored encrypted: the table holds neither address.
            let stored = try await dependencies.primary.query(
                "SELECT value_text FROM entity_values_ts WHERE tenant_id = \(tenant.id) AND value_text IS NOT NULL ORDER BY entity_id"
            )
            var texts = [String]()
            for try await text in stored.decode(String.self) { texts.append(text) }
            #expect(texts.count == 2)
            #expect(texts.allSatisfy { $0.hasPrefix(PIISealer.prefix) && !$0.contains("example.com") }, "\(texts)")

            // Read in the clear: lookup, series, export.
            #expect(try await Self.email(client, tenant.key, "phone-a") == alice)
            let series = try await client.send(.get, "/v1/entities/phone-b/series/email?consistency=strong", key: tenant.key).object()
            #expect((series["points"] as? [[String: Any]])?.first?["value"] as? String == bob)
            let export = try await client.send(.get, "/v1/entities/phone-a/export", key: tenant.key)
            #expect(export.text.contains(alice))
            #expect(export.text.contains("21.5"))

            // Never searched or aggregated.
            try await client.send(.post, "/v1/query/entities", key: tenant.key, json: #"{"filter": {"attribute": "email", "op": "exists"}}"#)
                .expectProblem("pii_attribute", .badRequest)
            let aggregate = #"{"attribute": "email", "from": "2026-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z", "bucket": "1d", "fn": ["count"]}"#
            try await client.send(.post, "/v1/query/aggregate", key: tenant.key, json: aggregate).expectProblem("pii_attribute", .badRequest)
        }

        // A backup, taken before the erasure.
        let backup = try await TestBackup.dump(database)
        defer { try? FileManager.default.removeItem(atPath: backup) }
        let dumped = try String(contentsOfFile: backup, encoding: .utf8)
        #expect(!dumped.contains(alice) && !dumped.contains(bob), "a pii value is in the backup in the clear")

        let tenantKey = tenantKeyBox.withLock { $0 }
        try await APITester.run(primary: database, privacy: privacy) { client, _ in
            let erased = try await client.send(.delete, "/v1/subjects/person-a", key: tenantKey)
            #expect(erased.status == .ok, "\(erased.text)")
        }

        // The backup restored, served with the same vault and master key: person-a's
        // address is gone for good (its key is destroyed), person-b's still reads.
        let restored = try await TestBackup.restore(backup)
        try await APITester.run(primary: restored, privacy: privacy) { client, _ in
            let lookup = try await client.send(.get, "/v1/entities/phone-a?attributes=email&consistency=strong", key: tenantKey)
            #expect(lookup.status == .ok, "the restored backup lost the entity: \(lookup.text)")
            #expect(!lookup.text.contains(alice))
            #expect(try await Self.email(client, tenantKey, "phone-a") == nil)
            #expect(try await Self.email(client, tenantKey, "phone-b") == bob)
            // Its other values were not personal data, and still read.
            let export = try await client.send(.get, "/v1/entities/phone-a/export", key: tenantKey)
            #expect(export.text.contains("21.5") && !export.text.contains(alice))
        }
    }

    @Test func aPersonalNumberIsStoredSealedAndItsSeriesReadsTheNumbers() async throws {
        let privacy = try await Self.privacy()
        let database = try await DeletedEntityWriteTests.migratedDatabase()
        try await APITester.run(primary: database, privacy: privacy) { client, dependencies in
            let tenant = try await client.createTenant("pii-number")
            #expect(try await client.send(.put, "/v1/attributes/weight", key: tenant.key, json: #"{"type": "decimal", "pii": true}"#).status == .created)
            let points = [
                #"{"entity": "patient-1", "attribute": "weight", "value": 72.5, "ts": "2026-11-20T08:00:00Z"}"#,
                #"{"entity": "patient-1", "attribute": "weight", "value": 71.25, "ts": "2026-11-21T08:00:00Z"}"#,
            ]
            let written = try await client.send(.post, "/v1/ingest?durability=safe", key: tenant.key, json: #"{"points": [\#(points.joined(separator: ","))]}"#)
            #expect(written.status == .ok, "\(written.text)")
            // Stored as sealed text, not in the number column of its type.
            let stored = try await dependencies.primary.query(
                "SELECT count(*)::int FROM entity_values_ts WHERE tenant_id = \(tenant.id) AND value_decimal IS NULL AND starts_with(value_text, \(PIISealer.prefix))"
            )
            for try await count in stored.decode(Int.self) { #expect(count == 2) }
            // Its series reads the numbers, in order, whichever column a typed series selects.
            let series = try await client.send(.get, "/v1/entities/patient-1/series/weight?consistency=strong", key: tenant.key).object()
            #expect((series["points"] as? [[String: Any]])?.compactMap { $0["value"] as? Double } == [72.5, 71.25])
            let newest = try await client.send(
                .get,
                "/v1/entities/patient-1/series/weight?order=desc&limit=1&to=2026-11-30T00:00:00Z&consistency=strong",
                key: tenant.key
            )
            .object()
            #expect((newest["points"] as? [[String: Any]])?.compactMap { $0["value"] as? Double } == [71.25])
        }
    }

    @Test func withoutAVaultPIIValuesAreRefusedAndOthersKeptAndNothingIsErased() async throws {
        try await APITester.run { client, _ in
            let tenant = try await client.createTenant("no-vault")
            #expect(try await client.send(.put, "/v1/attributes/email", key: tenant.key, json: #"{"type": "text", "pii": true}"#).status == .created)
            let points = #"{"points": [{"entity": "e", "attribute": "email", "value": "x@example.com"}, {"entity": "e", "attribute": "n", "value": 1}]}"#
            let written = try await client.send(.post, "/v1/ingest?durability=safe", key: tenant.key, json: points)
            #expect(written.status == .ok || written.status.code == 207, "\(written.text)")
            #expect(written.text.contains("pii_unavailable"), "\(written.text)")
            let series = try await client.send(.get, "/v1/entities/e/series/n?consistency=strong", key: tenant.key).object()
            #expect((series["points"] as? [[String: Any]])?.count == 1)

            // Erasing here would leave the data keys another server made: refused, nothing erased.
            #expect(try await client.send(.post, "/v1/entities", key: tenant.key, json: #"{"key": "e", "subject": "s-1"}"#).status == .ok)
            try await client.send(.delete, "/v1/entities/e", key: tenant.key).expectProblem("pii_unavailable", .serviceUnavailable)
            try await client.send(.delete, "/v1/subjects/s-1", key: tenant.key).expectProblem("pii_unavailable", .serviceUnavailable)
            let kept = try await client.send(.get, "/v1/entities/e/series/n?consistency=strong", key: tenant.key).object()
            #expect((kept["points"] as? [[String: Any]])?.count == 1)
            // A tenant with no pii attribute erases as ever.
            let plain = try await client.createTenant("no-vault-plain")
            let stored = try await client.send(
                .post,
                "/v1/ingest?durability=safe",
                key: plain.key,
                json: #"{"points": [{"entity": "e", "attribute": "n", "value": 1}]}"#
            )
            #expect(stored.status == .ok)
            #expect(try await client.send(.delete, "/v1/entities/e", key: plain.key).status == .noContent)
        }
    }

    /// An entity's email as its lookup gives it (`?attributes=email`), nil when unreadable.
    static func email(_ client: any TestClientProtocol, _ key: String, _ entity: String) async throws -> String? {
        let lookup = try await client.send(.get, "/v1/entities/\(entity)?attributes=email&consistency=strong", key: key)
        #expect(lookup.status == .ok, "\(lookup.text)")
        let attributes = try lookup.object()["attributes"] as? [String: Any]
        return (attributes?["email"] as? [String: Any])?["value"] as? String
    }
}
