import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import TesseraCore
import TesseraStore
import TesseraTestSupport
import Testing

/// A tenant's API keys through `/v1/keys`: several named keys with a scope and an
/// optional expiry; created (shown once), listed (never shown again), revoked and
/// rotated by a key of scope admin; each scope allows what it says and no more.
@Suite struct APIKeyTests {
    struct Made {
        var id: Int
        var key: String
    }

    static func create(
        _ client: any TestClientProtocol,
        admin: String,
        name: String,
        scope: String,
        expiresAt: String? = nil
    ) async throws -> Made {
        let expiry = expiresAt.map { #", "expires_at": "\#($0)""# } ?? ""
        let response = try await client.send(.post, "/v1/keys", key: admin, json: #"{"name": "\#(name)", "scope": "\#(scope)"\#(expiry)}"#)
        #expect(response.status == .created, "\(response.text)")
        let body = try response.object()
        #expect(body["scope"] as? String == scope)
        let key = try #require(body["key"] as? String)
        #expect(key.hasPrefix(try #require(body["prefix"] as? String)))
        return Made(id: try #require(body["id"] as? Int), key: key)
    }

    @Test func eachScopeAllowsWhatItSaysAndNoMore() async throws {
        try await APITester.run { client in
            let tenant = try await client.createTenant("scopes")
            let reader = try await Self.create(client, admin: tenant.key, name: "dashboard", scope: "read")
            let writer = try await Self.create(client, admin: tenant.key, name: "devices", scope: "write")
            let point = #"{"points": [{"entity": "dev-1", "attribute": "temp", "value": 21.5}]}"#
            // admin: everything of its tenant (here, an attribute kept hot, so filters may name it).
            let hot = try await client.send(.put, "/v1/attributes/temp", key: tenant.key, json: #"{"type": "decimal", "hot": true}"#)
            #expect(hot.status == .created, "\(hot.text)")

            // write: ingests, reads, but cannot manage keys.
            #expect(try await client.send(.post, "/v1/ingest?durability=safe", key: writer.key, json: point).status == .ok)
            #expect(try await client.send(.get, "/v1/entities/dev-1", key: writer.key).status == .ok)
            try await client.send(.get, "/v1/keys", key: writer.key).expectProblem("insufficient_scope", .forbidden)
            try await client.send(.post, "/v1/keys", key: writer.key, json: #"{"name": "x", "scope": "admin"}"#)
                .expectProblem("insufficient_scope", .forbidden)

            // read: reads, queries (a POST), but neither ingests nor creates.
            #expect(try await client.send(.get, "/v1/entities/dev-1", key: reader.key).status == .ok)
            #expect(try await client.send(.get, "/v1/attributes", key: reader.key).status == .ok)
            let query = try await client.send(.post, "/v1/query/entities", key: reader.key, json: #"{"filter": {"attribute": "temp", "op": ">", "value": 0}}"#)
            #expect(query.status == .ok, "\(query.text)")
            try await client.send(.post, "/v1/ingest", key: reader.key, json: point).expectProblem("insufficient_scope", .forbidden)
            try await client.send(.post, "/v1/entities", key: reader.key, json: #"{"key": "dev-2"}"#).expectProblem("insufficient_scope", .forbidden)
            try await client.send(.delete, "/v1/entities/dev-1", key: reader.key).expectProblem("insufficient_scope", .forbidden)
            try await client.send(.put, "/v1/attributes/humidity", key: reader.key, json: #"{"type": "decimal"}"#)
                .expectProblem("insufficient_scope", .forbidden)
            // Influx clients: the write endpoint needs write.
            try await client.send(.post, "/write?db=x", key: reader.key, json: "temp,entity=dev-1 value=1", contentType: "text/plain")
                .expectProblem("insufficient_scope", .forbidden)
            #expect(try await client.send(.get, "/v1/entities/dev-1", key: reader.key).status == .ok)
        }
    }

    @Test func keysAreListedByNameAndPrefixOnlyAndARevokedKeyIsRefusedWithItsOwnCode() async throws {
        try await APITester.run { client, dependencies in
            let tenant = try await client.createTenant("lifecycle")
            let other = try await client.createTenant("lifecycle-other")
            let reader = try await Self.create(client, admin: tenant.key, name: "dashboard", scope: "read")

            let listing = try await client.send(.get, "/v1/keys", key: tenant.key)
            #expect(listing.status == .ok)
            #expect(!listing.text.contains(reader.key), "a listing shows a key again")
            #expect(!listing.text.contains(tenant.key))
            let keys = try #require(try listing.object()["keys"] as? [[String: Any]])
            #expect(Set(keys.compactMap { $0["name"] as? String }) == ["default", "dashboard"])
            #expect(keys.allSatisfy { ($0["prefix"] as? String)?.count == 10 && $0["key"] == nil })
            // The other tenant's admin key sees none of them, and cannot revoke this one.
            let others = try #require(try await client.send(.get, "/v1/keys", key: other.key).object()["keys"] as? [[String: Any]])
            #expect(others.compactMap { $0["name"] as? String } == ["default"])
            try await client.send(.delete, "/v1/keys/\(reader.id)", key: other.key).expectProblem("not_found", .notFound)
            #expect(try await client.send(.get, "/v1/attributes", key: reader.key).status == .ok)

            // A duplicate live name is a 409; revoking frees it.
            try await client.send(.post, "/v1/keys", key: tenant.key, json: #"{"name": "dashboard", "scope": "read"}"#).expectProblem("duplicate", .conflict)
            #expect(try await client.send(.delete, "/v1/keys/\(reader.id)", key: tenant.key).status == .noContent)
            try await client.send(.get, "/v1/attributes", key: reader.key).expectProblem("key_revoked", .unauthorized)
            try await client.send(.delete, "/v1/keys/\(reader.id)", key: tenant.key).expectProblem("not_found", .notFound)
            _ = try await Self.create(client, admin: tenant.key, name: "dashboard", scope: "read")

            // Stored: the hash and the first characters, never the key.
            let stored = try await dependencies.primary.query("SELECT encode(key_hash, 'hex'), key_prefix FROM api_keys WHERE key_id = \(reader.id)")
            for try await (hash, prefix) in stored.decode((String, String).self) {
                #expect(hash.count == 64 && !hash.contains(reader.key))
                #expect(reader.key.hasPrefix(prefix))
            }
            // Bad bodies are 400s.
            try await client.send(.post, "/v1/keys", key: tenant.key, json: #"{"name": "x", "scope": "root"}"#).expectProblem("invalid_body", .badRequest)
            try await client.send(.post, "/v1/keys", key: tenant.key, json: #"{"name": "", "scope": "read"}"#).expectProblem("invalid_name", .badRequest)
            try await client.send(.post, "/v1/keys", key: tenant.key, json: #"{"name": "old", "scope": "read", "expires_at": "2001-01-01T00:00:00Z"}"#)
                .expectProblem("invalid_body", .badRequest)
        }
    }

    @Test func aRotatedKeyIsReplacedAndAnExpiredKeyIsRefusedWithItsOwnCode() async throws {
        try await APITester.run { client in
            let tenant = try await client.createTenant("rotation")
            let writer = try await Self.create(client, admin: tenant.key, name: "devices", scope: "write")
            let rotated = try await client.send(.post, "/v1/keys/\(writer.id)/rotate", key: tenant.key)
            #expect(rotated.status == .created)
            let body = try rotated.object()
            let successor = try #require(body["key"] as? String)
            #expect(body["replaces"] as? Int == writer.id)
            #expect(body["scope"] as? String == "write" && body["name"] as? String == "devices")
            try await client.send(.get, "/v1/attributes", key: writer.key).expectProblem("key_revoked", .unauthorized)
            #expect(try await client.send(.get, "/v1/attributes", key: successor).status == .ok)

            // A key that expires in 5 s works until then, then is refused as expired (even
            // though this server remembered it as good a moment before).
            let expiresAt = Date().addingTimeInterval(5)
            let shortLived = try await Self.create(client, admin: tenant.key, name: "temporary", scope: "read", expiresAt: expiresAt.formatted(.iso8601))
            #expect(try await client.send(.get, "/v1/attributes", key: shortLived.key).status == .ok)
            try await Task.sleep(for: .seconds(max(0, expiresAt.timeIntervalSinceNow) + 0.5))
            try await client.send(.get, "/v1/attributes", key: shortLived.key).expectProblem("key_expired", .unauthorized)
            try await client.send(.get, "/v1/attributes", key: "tsk_" + String(repeating: "a", count: 40)).expectProblem("unauthorized", .unauthorized)
        }
    }
}
