import Foundation
import PostgresNIO
import TesseraCore
import TesseraTestSupport
import Testing

@testable import TesseraStore

/// The schema as PostgreSQL's catalog reports it, on the migrated test database.
@Suite struct SchemaTests {
    @Test func monthlyPartitionsExistFromNowForFourMonthsAndNoDefault() async throws {
        let url = try await TestCluster.primaryURL()
        try await withTestClient(url: url) { client in
            let rows = try await client.query(
                """
                SELECT c.relname, pg_get_expr(c.relpartbound, c.oid)
                  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhparent = 'entity_values_ts'::regclass
                """
            )
            var bounds = [String: String]()
            for try await (name, bound) in rows.decode((String, String).self) { bounds[name] = bound }
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            let now = Date()
            for offset in 0..<4 {
                let month = calendar.date(byAdding: .month, value: offset, to: now)!
                let parts = calendar.dateComponents([.year, .month], from: month)
                let name = String(format: "entity_values_ts_p%04d%02d", parts.year!, parts.month!)
                let bound = try #require(bounds[name], "missing partition \(name)")
                #expect(bound.contains(String(format: "%04d-%02d-01 00:00:00+00", parts.year!, parts.month!)))
            }
            #expect(!bounds.values.contains("DEFAULT"))
            #expect(try await count(client, "SELECT ts_partition_months_ahead()") >= 4)
        }
    }

    @Test func theTimeSeriesHasBrinTheCompositeBtreeAndTheEntitySeriesIndexOnly() async throws {
        let url = try await TestCluster.primaryURL()
        try await withTestClient(url: url) { client in
            let indexes = try await indexDefinitions(client, table: "entity_values_ts")
            // BRIN and the composite btree from DESIGN.md, plus the one a measured read
            // needs (an entity's series; migration 0003 says why).
            #expect(indexes.count == 3)
            #expect(indexes.contains { $0.contains("USING brin (ts)") })
            #expect(indexes.contains { $0.contains("USING btree (tenant_id, attribute_id, ts)") })
            #expect(indexes.contains { $0.contains("USING btree (tenant_id, entity_id, attribute_id, ts)") })
            // Partitions inherit them.
            let partitionIndexes = try await count(
                client,
                "SELECT count(*) FROM pg_indexes WHERE tablename LIKE 'entity_values_ts_p%'"
            )
            #expect(partitionIndexes >= 8)
        }
    }

    @Test func theProjectionHasAGinJsonbPathOpsIndex() async throws {
        let url = try await TestCluster.primaryURL()
        try await withTestClient(url: url) { client in
            let indexes = try await indexDefinitions(client, table: "entity_jsonb")
            #expect(indexes.contains { $0.contains("USING gin (attrs jsonb_path_ops)") })
        }
    }

    @Test func stagingIsUnloggedWithoutIndexes() async throws {
        let url = try await TestCluster.primaryURL()
        try await withTestClient(url: url) { client in
            let rows = try await client.query("SELECT relpersistence::text FROM pg_class WHERE relname = 'entity_values_ingest'")
            var persistence = [String]()
            for try await value in rows.decode(String.self) { persistence.append(value) }
            #expect(persistence == ["u"])
            #expect(try await indexDefinitions(client, table: "entity_values_ingest").isEmpty)
        }
    }

    @Test func everyTableKeysOnTenantFirst() async throws {
        let url = try await TestCluster.primaryURL()
        try await withTestClient(url: url) { client in
            let rows = try await client.query(
                """
                SELECT c.relname, a.attname
                  FROM pg_index i
                  JOIN pg_class c ON c.oid = i.indrelid
                  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
                 WHERE i.indisprimary AND c.relname IN ('attributes', 'entities', 'entity_jsonb')
                """
            )
            var firstColumns = [String: String]()
            for try await (table, column) in rows.decode((String, String).self) { firstColumns[table] = column }
            #expect(firstColumns == ["attributes": "tenant_id", "entities": "tenant_id", "entity_jsonb": "tenant_id"])
        }
    }

    @Test func aPointOutsideEveryPartitionIsRefusedNotParked() async throws {
        let url = try await TestCluster.primaryURL()
        try await withTestClient(url: url) { client in
            await #expect(throws: (any Error).self) {
                try await client.query(
                    """
                    INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, value_int, ts)
                    VALUES (0, 0, 0, 1, '1999-01-01T00:00:00Z')
                    """
                )
            }
        }
    }

    @Test func healthCheckReportsEveryCheck() async throws {
        let url = try await TestCluster.primaryURL()
        let report = try await withTestClient(url: url) { client in
            try await HealthReport.read(from: client, logger: quietLogger)
        }
        #expect(
            report.checks.map(\.name) == [
                "staging_backlog", "staging_age", "flush_failures", "quarantine", "partitions_ahead", "replica_lag", "bloat", "xid_age", "connections",
                "wal_archive", "partition_maintenance",
            ]
        )
        let partitions = try #require(report.checks.first { $0.name == "partitions_ahead" })
        #expect(partitions.status == "ok")
        #expect(partitions.value >= 4)
        #expect(report.checks.allSatisfy { ["ok", "warn", "fail"].contains($0.status) })
    }
}

func indexDefinitions(_ client: PostgresClient, table: String) async throws -> [String] {
    let rows = try await client.query("SELECT indexdef FROM pg_indexes WHERE tablename = \(table)")
    var definitions = [String]()
    for try await definition in rows.decode(String.self) { definitions.append(definition) }
    return definitions
}
