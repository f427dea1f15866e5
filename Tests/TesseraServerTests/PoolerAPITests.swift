import Foundation
import PostgresNIO
import TesseraCore
import TesseraServer
import TesseraStore
import TesseraTestSupport
import Testing

/// The server connected through pgbouncer in transaction pooling, as `tessera serve`
/// connects on the embedded cluster by default (and as behind RDS Proxy): writes at both
/// durabilities, every kind of read, a deletion and a read's statement timeout work, and
/// nothing the server set is left on the server connections that clients share.
@Suite struct PoolerAPITests {
    @Test func theAPIWorksThroughATransactionPoolerAndLeavesNoSettingBehind() async throws {
        let pooler = try await TestCluster.poolerURL()
        #expect(pooler.pooling == .transaction)
        let topology = ServerDependencies.ReadTopology(
            poolSize: 4,
            router: .init(statementTimeoutMilliseconds: [.strong: 5_000, .eventual: 5_000, .analytics: 1])
        )
        try await APITester.run(ingest: .init(writers: 2), serverURL: pooler, readTopology: topology) { client, dependencies in
            // Behind the pooler, lookups run as unnamed statements.
            #expect(dependencies.reads.preparedStatements.enabled == false)
            let tenant = try await client.createTenant("pooled")
            #expect(try await client.send(.put, "/v1/attributes/temp", key: tenant.key, json: #"{"type":"decimal","hot":true}"#).status == .created)
            #expect(try await client.send(.put, "/v1/attributes/state", key: tenant.key, json: #"{"type":"text","hot":true}"#).status == .created)

            // `fast` points: staged by an INSERT through the pooler, then flushed.
            let fast = (1...20).flatMap { entity in
                (0..<10).map { hour in
                    ReadAPITests.point("dev-\(entity)", "temp", "\(entity * 10 + hour)", "2026-11-20T\(String(format: "%02d", hour)):00:00Z")
                }
            }
            let written = try await client.send(.post, "/v1/ingest", key: tenant.key, json: #"{"points": [\#(fast.joined(separator: ","))]}"#)
            #expect(written.status == .ok, "\(written.text)")
            #expect(try written.object()["accepted"] as? Int == 200)
            // `safe` points: committed synchronously before the answer.
            try await ReadAPITests.write(
                client,
                tenant,
                (1...20).map { ReadAPITests.point("dev-\($0)", "state", $0.isMultiple(of: 2) ? #""ok""# : #""alarm""#, "2026-11-20T12:00:00Z") }
            )

            // Every fast point stored once the flush has run.
            var stored = 0
            for _ in 0..<200 {
                let rows = try await dependencies.primary.query(
                    "SELECT count(*)::int FROM entity_values_ts WHERE tenant_id = \(Int64(tenant.id))",
                    logger: quietLogger
                )
                for try await count in rows.decode(Int.self) { stored = count }
                if stored == 220 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(stored == 220)

            // Reads: a lookup, a filter, a series aggregate.
            let lookup = try await client.send(.get, "/v1/entities/dev-3?consistency=strong", key: tenant.key)
            #expect(lookup.status == .ok, "\(lookup.text)")
            let attributes = try #require(try lookup.object()["attributes"] as? [String: [String: Any]])
            #expect(attributes["temp"]?["value"] as? Double == 39)
            #expect(attributes["state"]?["value"] as? String == "alarm")
            let filtered = try await client.send(
                .post,
                "/v1/query/entities?consistency=strong",
                key: tenant.key,
                json: #"{"filter": {"attribute": "state", "op": "=", "value": "ok"}, "limit": 100}"#
            )
            #expect(filtered.status == .ok, "\(filtered.text)")
            #expect((try filtered.object()["entities"] as? [[String: Any]])?.count == 10)
            let aggregate = try await client.send(
                .post,
                "/v1/query/aggregate?consistency=strong",
                key: tenant.key,
                json: #"{"attribute": "temp", "from": "2026-11-20T00:00:00Z", "to": "2026-11-21T00:00:00Z", "bucket": "1d", "fn": ["count"]}"#
            )
            #expect(aggregate.status == .ok, "\(aggregate.text)")
            let counts = try #require(try aggregate.object()["buckets"] as? [[String: Any]]).compactMap { $0["count"] as? Int }
            #expect(counts.reduce(0, +) == 200)

            // The analytics class's 1 ms timeout reaches PostgreSQL in the read's own
            // transaction: past it, the read is cancelled there (a 504), not left running.
            try await dependencies.primary.query(
                """
                INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, value_decimal, ts)
                SELECT e.tenant_id, e.entity_id, a.attribute_id, g, timestamptz '2026-11-01' + g * interval '1 second'
                  FROM entities e JOIN attributes a ON a.tenant_id = e.tenant_id AND a.name = 'temp', generate_series(1, 300000) g
                 WHERE e.tenant_id = \(Int64(tenant.id)) AND e.external_key = 'dev-1'
                """
            )
            let slow = try await client.send(
                .post,
                "/v1/query/aggregate",
                key: tenant.key,
                json:
                    #"{"attribute": "temp", "from": "2026-11-01T00:00:00Z", "to": "2026-11-10T00:00:00Z", "bucket": "1h", "fn": ["avg"], "entities": ["dev-1"]}"#
            )
            #expect(try slow.expectProblem("timeout", .gatewayTimeout).contains("cancelled"))

            // A deletion through the pooler: the entity is gone for every read.
            #expect(try await client.send(.delete, "/v1/entities/dev-4", key: tenant.key).status == .noContent)
            #expect(try await client.send(.get, "/v1/entities/dev-4?consistency=strong", key: tenant.key).status == .notFound)

            // What the server set, it set per transaction: every server connection the
            // pooler hands out still has PostgreSQL's defaults.
            let seen = try await withTestClient(url: pooler) { other in
                try await withThrowingTaskGroup(of: String.self) { group in
                    for _ in 0..<12 {
                        group.addTask {
                            let rows = try await other.query(
                                "SELECT current_setting('statement_timeout') || ' ' || current_setting('synchronous_commit') || ' ' || pg_sleep(0.05)::text",
                                logger: quietLogger
                            )
                            var line = ""
                            for try await text in rows.decode(String.self) { line = text }
                            return line
                        }
                    }
                    return try await group.reduce(into: Set<String>()) { $0.insert($1) }
                }
            }
            #expect(seen == ["0 on "], "\(seen)")
        }
    }
}
