import Foundation
import PostgresNIO
import TesseraCore
import TesseraTestSupport
import Testing

@testable import TesseraStore

/// `ops/monitoring.sql`: the file is the queries `tessera ops report` runs, and each query
/// runs on a database with data, with the columns it documents, in order, and rows that
/// say what the data holds.
@Suite struct MonitoringQueryTests {
    @Test func theFileInOpsIsTheQueriesTheReportRuns() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let file = try String(contentsOf: root.appendingPathComponent("ops/monitoring.sql"), encoding: .utf8)
        #expect(file == MonitoringQuery.file, "ops/monitoring.sql differs from MonitoringQuery.all: regenerate it with `tessera ops sql > ops/monitoring.sql`")
        #expect(MonitoringQuery.all.count == 15)
        #expect(Set(MonitoringQuery.all.map(\.name)).count == 15)
    }

    @Test func everyQueryRunsWithItsDocumentedColumnsAndShowsTheData() async throws {
        let url = try await TestCluster.freshDatabase()
        let tenantName = "monitored-\(UUID().uuidString.prefix(8))"
        try await withTestClient(url: url) { client in
            _ = try await Migrator(client: client, logger: quietLogger).migrate()
            // The test cluster preloads pg_stat_statements; slow_queries needs its view here.
            try await client.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            try await Self.plant(tenantName, on: client, url: url)
            // Backends publish their table statistics when idle, up to a second or so later.
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                if try await !Self.rows("table_bloat", on: client).isEmpty, try await !Self.rows("cache_hit_ratio", on: client).isEmpty { break }
                try await Task.sleep(for: .milliseconds(200))
            }

            for query in MonitoringQuery.all {
                // The columns as PostgreSQL names them, in order: those documented.
                #expect(try await Self.columns(of: query, url: url) == query.columns, "\(query.name)")
                let rows = try await query.run(on: client, logger: quietLogger)
                #expect(rows.allSatisfy { $0.count == query.columns.count })
                let mayBeEmpty: Set = ["long_transactions", "replication_lag_wal"]
                #expect(!rows.isEmpty || mayBeEmpty.contains(query.name), "\(query.name) returned no rows")
            }

            let staging = try await Self.first("staging_health", on: client)
            #expect(staging["staged_rows"] == "3")
            #expect(staging["batches"] == "1")
            #expect(Double(staging["oldest_seconds"] ?? "") ?? 0 >= 100)
            let tenant = try await Self.rows("tenant_usage", on: client).first { $0["tenant"] == tenantName }
            #expect(tenant?["numeric_points_last_24h"] == "42")
            #expect(tenant?["staged_rows"] == "3")
            #expect(tenant?["quarantined"] == "1")
            #expect(tenant?["entities"] == "1")
            let throughput = try await Self.first("write_throughput", on: client)
            #expect(throughput["numeric_points"] == "42")
            let quarantined = try await Self.first("quarantine", on: client)
            #expect(quarantined["points"] == "7" && quarantined["sqlstate"] == "22003")
            let heartbeat = try await Self.first("replication_lag_heartbeat", on: client)
            #expect(heartbeat["node"] == "primary" && heartbeat["on_replica"] == "false")
            let partitions = try await Self.rows("partition_sizes", on: client)
            #expect(partitions.count >= 4, "the months ahead have partitions")
            let statements = try await Self.rows("slow_queries", on: client)
            // This database's statements (the migration's, these queries'), each counted.
            #expect(statements.allSatisfy { (Int($0["calls"] ?? "") ?? 0) > 0 && Double($0["mean_ms"] ?? "") != nil })
        }
    }

    /// One tenant with an entity, an hour of 42 numeric points, 3 staged rows from 2 minutes
    /// ago, a quarantined COPY of 7 points and a heartbeat.
    static func plant(_ name: String, on client: PostgresClient, url: DatabaseURL) async throws {
        let (tenant, _) = try await Catalog(client: client, logger: quietLogger).createTenant(name: name)
        _ = try await Catalog(client: client, logger: quietLogger).putAttribute(AttributeDefinition(name: "temp", type: .decimal), tenant: tenant)
        try await TestConnection.withConnection(url) { connection in
            try await Self.plant(tenant: tenant.id, on: connection)
            try await connection.query("SELECT pg_stat_force_next_flush()", logger: quietLogger)
        }
    }

    static func plant(tenant id: Int64, on client: PostgresConnection) async throws {
        try await client.query(
            """
            WITH e AS (INSERT INTO entities (tenant_id, external_key) VALUES (\(id), 'dev-1') RETURNING entity_id)
            UPDATE tenants SET entity_count = 1 WHERE tenant_id = \(id)
            """,
            logger: quietLogger
        )
        try await client.query(
            """
            INSERT INTO entity_values_hourly (tenant_id, attribute_id, hour, count, sum, min, max, first_ts, first_value, last_ts, last_value)
            SELECT \(id), attribute_id, date_trunc('hour', now()), 42, 42, 1, 1, now(), 1, now(), 1 FROM attributes WHERE tenant_id = \(id)
            """,
            logger: quietLogger
        )
        try await client.query(
            """
            INSERT INTO entity_values_ingest (tenant_id, entity_id, attribute_id, value_decimal, ts, ingested_at, batch_id)
            SELECT \(id), e.entity_id, a.attribute_id, g, now(), now() - interval '2 minutes', 1
              FROM entities e, attributes a, generate_series(1, 3) g WHERE e.tenant_id = \(id) AND a.tenant_id = \(id)
            """,
            logger: quietLogger
        )
        try await client.query(
            """
            INSERT INTO ingest_quarantine (tenant_id, batch_id, copy_rows, sqlstate, reason)
            VALUES (\(id), 2, 7, '22003', 'numeric value out of range')
            """,
            logger: quietLogger
        )
        try await client.query("INSERT INTO heartbeat (node, beat_at, seq) VALUES ('primary', now(), 1) ON CONFLICT (node) DO NOTHING", logger: quietLogger)
    }

    /// The names of a query's columns, in order, as PostgreSQL gives them (a temporary view of it).
    static func columns(of query: MonitoringQuery, url: DatabaseURL) async throws -> [String] {
        var names = [String]()
        try await TestConnection.withConnection(url) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE TEMP VIEW monitored AS \(query.sql)"), logger: quietLogger)
            let rows = try await connection.query(
                "SELECT attname::text FROM pg_attribute WHERE attrelid = 'monitored'::regclass AND attnum > 0 ORDER BY attnum",
                logger: quietLogger
            )
            for try await name in rows.decode(String.self) { names.append(name) }
        }
        return names
    }

    static func rows(_ name: String, on client: PostgresClient) async throws -> [[String: String]] {
        let query = try #require(MonitoringQuery.all.first { $0.name == name })
        return try await query.run(on: client, logger: quietLogger).map { Dictionary(uniqueKeysWithValues: zip(query.columns, $0)) }
    }

    static func first(_ name: String, on client: PostgresClient) async throws -> [String: String] {
        try #require(try await Self.rows(name, on: client).first, "\(name) returned no rows")
    }
}
