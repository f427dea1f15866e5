import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import TesseraCore
import TesseraTestSupport
import Testing

/// Tenant A drives every endpoint, with keys of every scope, filled with what it could
/// have learnt of tenant B: B's entity keys and ids, attribute names, key ids, series,
/// filter and audit cursors, B's own keys mangled. Nothing of B's is ever returned (B's
/// values are unique markers, B's ids never appear) and nothing of B's changes (B's
/// stored state, read as the superuser, is the same after as before). Seeded: a failure
/// names its seed and request.
@Suite struct IsolationFuzzTests {
    static let requests = 400

    struct TenantB {
        /// The data subject B's entities are tagged with.
        static let subject = "person-b"
        var id: Int
        var key: String
        var entityKeys: [String]
        var entityIDs: [Int]
        var markers: [String]
        var keyIDs: [Int]
        var seriesCursor: String
        var filterCursor: String
        var auditCursor: String
    }

    @Test(arguments: [UInt64(1), 2])
    func tenantANeverSeesOrChangesAnythingOfTenantB(seed: UInt64) async throws {
        try await APITester.run { client, dependencies in
            let a = try await client.createTenant("fuzz-a")
            let b = try await Self.tenantB(client, dependencies)
            let aRead = try await APIKeyTests.create(client, admin: a.key, name: "r", scope: "read").key
            let aWrite = try await APIKeyTests.create(client, admin: a.key, name: "w", scope: "write").key
            _ = try await client.send(.put, "/v1/attributes/secret", key: a.key, json: #"{"type": "text", "hot": true}"#)
            _ = try await client.send(.put, "/v1/attributes/level", key: a.key, json: #"{"type": "decimal", "hot": true}"#)
            let before = try await Self.snapshot(dependencies.primary, tenant: b.id)

            var random = SeededRandom(seed: seed)
            let keysOfA = [a.key, aRead, aWrite]
            // B's key, mangled: one character changed, truncated, with a suffix.
            // (The changed character is never the one it replaces: a key ending in "x" once made
            // the "mangled" key B's own.)
            let changed = b.key.hasSuffix("x") ? "y" : "x"
            let mangled = [String(b.key.dropLast()) + changed, String(b.key.dropLast(2)), b.key + "0"]
            for index in 0..<Self.requests {
                let (method, path, body) = Self.request(b, &random)
                let key = random.next(10) == 0 ? mangled[random.next(mangled.count)] : keysOfA[random.next(keysOfA.count)]
                let response = try await client.send(method, path, key: key, json: body)
                let text = response.text
                let context = "seed \(seed), request \(index): \(method) \(path) \(body ?? "") → \(response.status.code) \(text.prefix(300))"
                #expect(response.status.code < 500, "\(context)")
                for marker in b.markers { #expect(!text.contains(marker), "B's value leaked: \(context)") }
                // Entity ids only where entities are answered (keys and audit entries have ids of their own).
                if path.hasPrefix("/v1/entities") || path.hasPrefix("/v1/query") {
                    for id in b.entityIDs { #expect(!text.contains(#""id":\#(id),"#) && !text.contains(#""id":\#(id)}"#), "B's entity id leaked: \(context)") }
                }
                #expect(!text.contains(b.key), "B's key leaked: \(context)")
            }
            let after = try await Self.snapshot(dependencies.primary, tenant: b.id)
            #expect(after == before, "B's stored state changed")
            // B still works as before.
            let own = try await client.send(.get, "/v1/entities/\(b.entityKeys[0])", key: b.key)
            #expect(own.status == .ok && own.text.contains(b.markers[0]))
        }
    }

    /// One request of A's, filled from what A could know of B (or plain nonsense).
    static func request(_ b: TenantB, _ random: inout SeededRandom) -> (HTTPRequest.Method, String, String?) {
        let entity = b.entityKeys[random.next(b.entityKeys.count)]
        let entityID = b.entityIDs[random.next(b.entityIDs.count)]
        let keyID = b.keyIDs[random.next(b.keyIDs.count)]
        let cursor = [b.seriesCursor, b.filterCursor, b.auditCursor, "\(entityID)", "0", "-1"][random.next(6)]
        let attribute = ["secret", "level", "b_only", "temp"][random.next(4)]
        switch random.next(22) {
        case 0: return (.get, "/v1/entities/\(entity)", nil)
        case 1: return (.get, "/v1/entities/\(entity)?attributes=\(attribute),b_only&consistency=strong", nil)
        case 2: return (.get, "/v1/entities/\(entity)/series/\(attribute)?cursor=\(cursor)", nil)
        case 3: return (.get, "/v1/entities/\(entity)/series/\(attribute)?from=2020-01-01T00:00:00Z&order=desc&limit=10000", nil)
        case 4:
            return (
                .post, "/v1/query/entities",
                #"{"filter": {"attribute": "\#(attribute)", "op": ">", "value": -1e9}, "limit": 1000, "cursor": "\#(cursor)"}"#
            )
        case 5: return (.post, "/v1/query/entities", #"{"filter": {"attribute": "secret", "op": "=", "value": "\#(b.markers[0])"}}"#)
        case 6:
            return (
                .post, "/v1/query/aggregate",
                #"{"attribute": "\#(attribute)", "from": "2020-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z", "bucket": "1d", "fn": ["count", "last"], "entities": ["\#(entity)"], "group_by": "entity"}"#
            )
        case 7: return (.delete, "/v1/entities/\(entity)", nil)
        case 8: return (.post, "/v1/entities", #"{"key": "\#(entity)", "type": "hijack"}"#)
        case 9: return (.put, "/v1/attributes/b_only", #"{"type": "text", "hot": true, "description": "hijack"}"#)
        case 10: return (.get, "/v1/attributes/b_only", nil)
        case 11: return (.delete, "/v1/keys/\(keyID)", nil)
        case 12: return (.post, "/v1/keys/\(keyID)/rotate", nil)
        case 13: return (.get, "/v1/audit?cursor=\(b.auditCursor)&limit=1000", nil)
        case 14: return (.get, "/v1/tenants/\(b.id)", nil)
        case 15:
            return (
                .post, "/v1/ingest?durability=\(random.next(2) == 0 ? "safe" : "fast")",
                #"{"points": [{"entity": "\#(entity)", "attribute": "secret", "value": "a-was-here"}]}"#
            )
        case 16: return (.delete, "/v1/entities/\(entity)/series/\(attribute)", nil)
        case 17: return (.get, "/v1/entities/\(entity)/export", nil)
        case 18: return (.get, "/v1/subjects/\(TenantB.subject)", nil)
        case 19: return (.get, "/v1/subjects/\(TenantB.subject)/export", nil)
        case 20: return (.delete, "/v1/subjects/\(TenantB.subject)", nil)
        default: return (.get, "/v1/keys", nil)
        }
    }

    /// Tenant B with entities holding unique markers, a series, a non-hot attribute, keys,
    /// and the cursors its own pages gave it.
    static func tenantB(_ client: any TestClientProtocol, _ dependencies: TestServerDependencies) async throws -> TenantB {
        let b = try await client.createTenant("fuzz-b")
        _ = try await client.send(.put, "/v1/attributes/secret", key: b.key, json: #"{"type": "text", "hot": true}"#)
        _ = try await client.send(.put, "/v1/attributes/level", key: b.key, json: #"{"type": "decimal", "hot": true}"#)
        _ = try await client.send(.put, "/v1/attributes/b_only", key: b.key, json: #"{"type": "text"}"#)
        var keys = [String]()
        var markers = [String]()
        var points = [String]()
        for index in 0..<5 {
            let key = "shared-\(index)"
            let marker = "B-SECRET-\(UUID().uuidString)"
            keys.append(key)
            markers.append(marker)
            points.append(#"{"entity": "\#(key)", "attribute": "secret", "value": "\#(marker)"}"#)
            points.append(#"{"entity": "\#(key)", "attribute": "b_only", "value": "\#(marker)-cold"}"#)
            markers.append("\(marker)-cold")
            for second in 0..<30 {
                points.append(
                    #"{"entity": "\#(key)", "attribute": "level", "value": \#(index * 1000 + second), "ts": "2026-11-0\#(index + 1)T00:00:\#(String(format: "%02d", second))Z"}"#
                )
            }
        }
        // B's entities are about one data subject.
        for key in keys {
            let tagged = try await client.send(.post, "/v1/entities", key: b.key, json: #"{"key": "\#(key)", "subject": "\#(TenantB.subject)"}"#)
            #expect(tagged.status == .created, "\(tagged.text)")
        }
        let ingest = try await client.send(.post, "/v1/ingest?durability=safe", key: b.key, json: #"{"points": [\#(points.joined(separator: ","))]}"#)
        #expect(ingest.status == .ok, "\(ingest.text)")
        var ids = [Int]()
        for key in keys {
            let entity = try await client.send(.get, "/v1/entities/\(key)?consistency=strong", key: b.key).object()
            ids.append(try #require(entity["id"] as? Int))
        }
        let reader = try await APIKeyTests.create(client, admin: b.key, name: "b-reader", scope: "read")
        let series = try await client.send(.get, "/v1/entities/\(keys[0])/series/level?limit=5&consistency=strong", key: b.key).object()
        let filter = try await client.send(
            .post,
            "/v1/query/entities?consistency=strong",
            key: b.key,
            json: #"{"filter": {"attribute": "level", "op": ">", "value": -1}, "limit": 2}"#
        ).object()
        await dependencies.audit.appendPending()
        let audit = try await client.send(.get, "/v1/audit?limit=2", key: b.key).object()
        let keyList = try #require(try await client.send(.get, "/v1/keys", key: b.key).object()["keys"] as? [[String: Any]])
        return TenantB(
            id: b.id,
            key: b.key,
            entityKeys: keys,
            entityIDs: ids,
            markers: markers + [reader.key],
            keyIDs: keyList.compactMap { $0["id"] as? Int },
            seriesCursor: try #require(series["next_cursor"] as? String),
            filterCursor: try #require(filter["next_cursor"] as? String),
            auditCursor: try #require(audit["next_cursor"] as? String)
        )
    }

    /// Everything B holds, as the superuser reads it.
    static func snapshot(_ superuser: PostgresClient, tenant: Int) async throws -> [String] {
        let id = Int64(tenant)
        var lines = [String]()
        for query: PostgresQuery in [
            "SELECT entity_id::text || ' ' || external_key || ' ' || coalesce(entity_type, '-') || ' ' || coalesce(subject, '-') || ' ' || version || ' ' || is_deleted FROM entities WHERE tenant_id = \(id) ORDER BY 1",
            "SELECT entity_id::text || ' ' || attrs::text FROM entity_jsonb WHERE tenant_id = \(id) ORDER BY 1",
            "SELECT count(*)::text || ' ' || coalesce(sum(value_decimal), 0)::text FROM entity_values_ts WHERE tenant_id = \(id)",
            "SELECT count(*)::text FROM series_erasures WHERE tenant_id = \(id)",
            "SELECT name || ' ' || value_type || ' ' || hot || ' ' || coalesce(description, '-') FROM attributes WHERE tenant_id = \(id) ORDER BY 1",
            "SELECT key_id::text || ' ' || (revoked_at IS NULL)::text FROM api_keys WHERE tenant_id = \(id) ORDER BY 1",
        ] {
            for try await line in try await superuser.query(query).decode(String.self) { lines.append(line) }
        }
        return lines
    }
}

/// SplitMix64, for requests a seed reproduces.
struct SeededRandom {
    var state: UInt64

    init(seed: UInt64) { self.state = seed }

    mutating func next(_ bound: Int) -> Int {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(bound))
    }
}
