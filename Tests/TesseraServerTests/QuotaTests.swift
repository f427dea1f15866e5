import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import TesseraCore
import TesseraServer
import TesseraStore
import TesseraTestSupport
import Testing

/// A tenant's caps hold: entities, attributes (race-free), points per second, requests
/// in flight, and the server's backfill horizon; an admin changes them at any time.
@Suite struct QuotaTests {
    @Test func entityAndAttributeCapsAreEnforcedAndAdminsChangeThem() async throws {
        try await APITester.run { client, dependencies in
            let tenant = try await client.createTenant("caps", settings: #""max_entities": 3, "max_attributes": 2"#)
            let shown = try await client.send(.get, "/v1/tenants/\(tenant.id)", key: APITester.adminToken).object()
            let settings = try #require(shown["settings"] as? [String: Any])
            #expect(settings["max_entities"] as? Int == 3)
            #expect(settings["max_attributes"] as? Int == 2)

            let points =
                (0..<5).map { #"{"entity":"e-\#($0)","attribute":"a","value":\#($0)}"# } + [
                    #"{"entity":"e-0","attribute":"b","value":1}"#, #"{"entity":"e-0","attribute":"c","value":1}"#,
                ]
            let response = try await client.send(.post, "/v1/ingest", key: tenant.key, json: #"{"points":[\#(points.joined(separator: ","))]}"#)
            let result = try response.object()
            #expect(result["accepted"] as? Int == 4, "\(response.text)")
            let codes = (result["rejected"] as? [[String: Any]] ?? []).map { "\($0["index"] ?? "")=\($0["code"] ?? "")" }
            #expect(codes == ["3=quota_exceeded", "4=quota_exceeded", "6=quota_exceeded"])
            try await client.send(.put, "/v1/attributes/d", key: tenant.key, json: #"{"type":"int"}"#).expectProblem("quota_exceeded", .forbidden)
            try await client.send(.post, "/v1/entities", key: tenant.key, json: #"{"key":"e-9"}"#).expectProblem("quota_exceeded", .forbidden)
            let usage = try #require(try await client.send(.get, "/v1/tenants/\(tenant.id)", key: APITester.adminToken).object()["usage"] as? [String: Any])
            #expect(usage["entities"] as? Int == 3)
            #expect(usage["attributes"] as? Int == 2)

            let patched = try await client.send(.patch, "/v1/tenants/\(tenant.id)", key: APITester.adminToken, json: #"{"max_entities": 4}"#)
            #expect(patched.status == .ok, "\(patched.text)")
            #expect((try patched.object()["settings"] as? [String: Any])?["max_entities"] as? Int == 4)
            #expect(try await client.send(.post, "/v1/entities", key: tenant.key, json: #"{"key":"e-9"}"#).status == .created)
            try await client.send(.patch, "/v1/tenants/\(tenant.id)", key: APITester.adminToken, json: #"{"max_entities": 0}"#)
                .expectProblem("invalid_body", .badRequest)
            try await client.send(.patch, "/v1/tenants/\(tenant.id)", key: tenant.key, json: #"{"max_entities": 9}"#)
                .expectProblem("unauthorized", .unauthorized)
            try await client.send(.get, "/v1/tenants/999999999", key: APITester.adminToken).expectProblem("not_found", .notFound)
            _ = dependencies
        }
    }

    @Test func concurrentAttributeCreationsNeverPassTheCapNorBurnIds() async throws {
        let database = try await DeletedEntityWriteTests.migratedDatabase()
        try await APITester.run(primary: database) { client, dependencies in
            let tenant = try await client.createTenant("attr-race", settings: #""max_attributes": 5"#)
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for index in 0..<20 {
                    group.addTask { try await client.send(.put, "/v1/attributes/a\(index)", key: tenant.key, json: #"{"type":"int"}"#).status }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .created }.count == 5)
            #expect(statuses.filter { $0 == .forbidden }.count == 15)
            // Re-putting existing attributes takes no identity value: ids stay dense.
            for _ in 0..<5 {
                #expect(try await client.send(.put, "/v1/attributes/a0", key: tenant.key, json: #"{"type":"int","hot":true}"#).status != .created)
            }
            let other = try await client.createTenant("attr-ids")
            #expect(try await client.send(.put, "/v1/attributes/z", key: other.key, json: #"{"type":"int"}"#).status == .created)
            let ids = try await withTestClient(url: database) { db in
                var ids = [Int]()
                for try await id in try await db.query("SELECT attribute_id FROM attributes ORDER BY 1").decode(Int.self) { ids.append(id) }
                return ids
            }
            #expect(ids == Array(1...6), "attribute ids: \(ids)")
            _ = dependencies
        }
    }

    @Test func pointsPerSecondAreLimitedWithRetryAfter() async throws {
        try await APITester.run { client, dependencies in
            let tenant = try await client.createTenant("rate", settings: #""max_points_per_second": 1"#)
            // 300 points at 1 a second: admitted (a request may take more than a second's
            // allowance), and the tenant owes 299 seconds.
            let batch =
                #"{"points":["# + (0..<300).map { #"{"entity":"e","attribute":"v","value":\#($0),"ts":\#(1_764_000_000_000 + $0)}"# }.joined(separator: ",")
                + "]}"
            #expect(try await client.send(.post, "/v1/ingest", key: tenant.key, json: batch).status == .ok)
            let refused = try await client.send(.post, "/v1/ingest", key: tenant.key, json: #"{"points":[{"entity":"e","attribute":"v","value":1}]}"#)
            try refused.expectProblem("rate_limited", .tooManyRequests)
            let retryAfter = try #require(refused.headers[.retryAfter].flatMap(Int.init))
            #expect((200...300).contains(retryAfter), "Retry-After: \(retryAfter)")
            try await DeletedEntityWriteTests.waitUntilFlushed(dependencies)
            #expect(try await rowCount(dependencies.primary, tenant: tenant.id) == 300)
        }
    }

    @Test func aBodyRefusedForRoomMidwaySaysWhatWasStored() async throws {
        try await APITester.run { client, dependencies in
            let tenant = try await client.createTenant("rate-mid", settings: #""max_points_per_second": 100"#)
            let points = (0..<5_001).map { #"{"entity":"e","attribute":"v","value":\#($0),"ts":\#(1_764_000_000_000 + $0)}"# }
            let response = try await client.send(.post, "/v1/ingest", key: tenant.key, json: #"{"points":[\#(points.joined(separator: ","))]}"#)
            try response.expectProblem("rate_limited", .tooManyRequests)
            let problem = try response.object()
            #expect(problem["accepted"] as? Int == 5_000)
            #expect(problem["stored_before"] as? Int == 5_000)
            try await waitForRows(dependencies.primary, tenant: tenant.id, count: 5_000)
        }
    }

    @Test func requestsPastTheTenantsConcurrencyLimitGet429() async throws {
        let database = try await DeletedEntityWriteTests.migratedDatabase()
        try await APITester.run(primary: database, tenantLimits: TenantLimits(maxConcurrentRequests: 2)) { client, _ in
            let tenant = try await client.createTenant("busy")
            let other = try await client.createTenant("calm")
            try await TestConnection.withConnection(database) { holder in
                // Safe writes wait while a delete holds this lock: two stay in flight.
                try await holder.query("BEGIN", logger: quietLogger)
                try await holder.query("SELECT pg_advisory_xact_lock(\(AdvisoryLock.deletion))", logger: quietLogger)
                let write = #"{"points":[{"entity":"e","attribute":"v","value":1}]}"#
                async let first = client.send(.post, "/v1/ingest?durability=safe", key: tenant.key, json: write)
                async let second = client.send(.post, "/v1/ingest?durability=safe", key: tenant.key, json: write)
                // Both waiting for the lock in the database (not a fixed sleep: CI is slow).
                try await withTestClient(url: database) { observer in
                    let deadline = ContinuousClock.now + .seconds(30)
                    while ContinuousClock.now < deadline {
                        let rows = try await observer.query(
                            """
                            SELECT count(*)::int FROM pg_locks AS l JOIN pg_stat_activity AS a USING (pid)
                             WHERE l.locktype = 'advisory' AND NOT l.granted AND a.query LIKE 'SELECT pg_advisory_xact_lock_shared%'
                            """
                        )
                        var waiting = 0
                        for try await count in rows.decode(Int.self) { waiting = count }
                        if waiting >= 2 { break }
                        try await Task.sleep(for: .milliseconds(50))
                    }
                }
                let third = try await client.send(.get, "/v1/attributes", key: tenant.key)
                try third.expectProblem("rate_limited", .tooManyRequests)
                #expect(third.headers[.retryAfter] != nil)
                // Another tenant is not held to this one's limit.
                #expect(try await client.send(.get, "/v1/attributes", key: other.key).status == .ok)
                try await holder.query("COMMIT", logger: quietLogger)
                let (a, b) = try await (first, second)
                #expect(a.status == .ok && b.status == .ok, "\(a.status) \(a.text) \(b.status) \(b.text)")
            }
            #expect(try await client.send(.get, "/v1/attributes", key: tenant.key).status == .ok)
        }
    }

    @Test func aPointBeforeTheBackfillHorizonIsRefusedAndMakesNoPartition() async throws {
        try await APITester.run(resolverRules: .init(backfillHorizonMonths: 24)) { client, dependencies in
            let tenant = try await client.createTenant("horizon")
            let body = #"{"points":[{"entity":"e","attribute":"v","value":1,"ts":"1953-02-01T00:00:00Z"},{"entity":"e","attribute":"v","value":2}]}"#
            let response = try await client.send(.post, "/v1/ingest", key: tenant.key, json: body)
            let result = try response.object()
            #expect(result["accepted"] as? Int == 1)
            #expect((result["rejected"] as? [[String: Any]])?.first?["code"] as? String == "timestamp_out_of_range")
            let partition = try await dependencies.primary.query("SELECT to_regclass('entity_values_ts_p195302') IS NULL")
            for try await missing in partition.decode(Bool.self) { #expect(missing) }
        }
    }
}
