import Foundation
import HTTPTypes
import HummingbirdTesting
import TesseraCore
import TesseraServer
import Testing

/// Keys and names compare as bytes everywhere, as in PostgreSQL: `café` written
/// precomposed (NFC) and decomposed (NFD) are two entities and two attributes, each
/// with its own values, through the caches and the resolver as in the database.
@Suite struct ExactKeyTests {
    @Test func nfcAndNfdSpellingsAreDifferentEntitiesAndAttributes() async throws {
        try await APITester.run { client, dependencies in
            let tenant = try await client.createTenant("nfc")
            for name in ["t\u{E9}", "te\u{301}"] {
                let encoded = name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed)!
                #expect(try await client.send(.put, "/v1/attributes/\(encoded)", key: tenant.key, json: #"{"type":"int","hot":true}"#).status == .created)
            }
            let body =
                #"{"points":[{"entity":"caf\u00e9","attribute":"t\u00e9","value":1},{"entity":"cafe\u0301","attribute":"te\u0301","value":2},{"entity":"cafe\u0301","attribute":"t\u00e9","value":3}]}"#
            let response = try await client.send(.post, "/v1/ingest?durability=safe", key: tenant.key, json: body)
            #expect(try response.object()["accepted"] as? Int == 3)
            // Written again through the (now warm) id caches.
            #expect(try await client.send(.post, "/v1/ingest?durability=safe", key: tenant.key, json: body).status == .ok)

            // Foundation's dictionaries would merge the two names: read the raw answer.
            func lookup(_ key: String) async throws -> String {
                let encoded = key.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                return try await client.send(.get, "/v1/entities/\(encoded)?consistency=strong", key: tenant.key).text
            }
            let nfc = try await lookup("caf\u{E9}")
            let nfd = try await lookup("cafe\u{301}")
            // (String.contains is canonical too: search the bytes.)
            func has(_ text: String, _ part: String) -> Bool {
                let bytes = Array(text.utf8)
                let needle = Array(part.utf8)
                return bytes.indices.contains { bytes[$0...].starts(with: needle) }
            }
            #expect(has(nfc, "\"t\u{E9}\":{\"value\":1,"), "\(nfc)")
            #expect(!has(nfc, "\"te\u{301}\""), "\(nfc)")
            #expect(has(nfd, "\"te\u{301}\":{\"value\":2,"), "\(nfd)")
            #expect(has(nfd, "\"t\u{E9}\":{\"value\":3,"), "\(nfd)")
            let stored = try await rowCount(dependencies.primary, tenant: tenant.id)
            #expect(stored == 6)  // each write at its own arrival time
        }
    }
}
