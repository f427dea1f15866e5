import Foundation
import Logging
import PostgresNIO
import TesseraCore
import TesseraStore

/// The read benchmark's dataset, generated inside PostgreSQL (`INSERT … SELECT`
/// over `generate_series`, the rows COPY would write, without shipping them):
/// 100 tenants (the largest holds 40% of entities and values), 1M entities, 50
/// attributes a tenant (a0–a9 hot decimals, a45–a49 text), values over the last
/// 60 days. Two shapes the read targets need are planted in it: tenant 0's `a0`
/// has 1M points in the last 30 days (the aggregate's rows), and its entity
/// `dev-0` has one `a0` point a minute for the last 7 days (the series).
struct ReadBenchDataset {
    struct Shape {
        var entities = 1_000_000
        var values = 20_000_000
        /// Points of tenant 0's `a0` in the last 30 days.
        var aggregateRows = 1_000_000
        var seriesDays = 7
    }

    let shape: Shape
    let layout: BenchDataset

    init(shape: Shape) {
        self.shape = shape
        var ingestShape = BenchDataset.Shape()
        ingestShape.entities = shape.entities
        self.layout = BenchDataset(shape: ingestShape)
    }

    /// A name that changes with the shape, so a dataset is reused only when it matches.
    var name: String { "readbench-\(self.shape.entities)-\(self.shape.values)" }

    /// Creates the tenants (keys returned, in tenant order) and every row.
    func generate(catalog: Catalog, client: PostgresClient, logger: Logger) async throws -> [String] {
        let started = ContinuousClock.now
        func step(_ text: String) {
            print("  [\(Int((ContinuousClock.now - started).components.seconds)) s] \(text)")
        }
        var tenantIDs = [Int64]()
        var keys = [String]()
        for index in 0..<self.layout.shape.tenants {
            let (tenant, key) = try await catalog.createTenant(name: "\(self.name)-\(index)")
            tenantIDs.append(tenant.id)
            keys.append(key.value)
        }
        let names = (0..<self.layout.shape.attributes).map(self.layout.attributeName)
        let types = (0..<self.layout.shape.attributes).map { self.layout.isText($0) ? "text" : "decimal" }
        let hot = (0..<self.layout.shape.attributes).map(self.layout.isHot)
        try await client.query(
            """
            INSERT INTO attributes (tenant_id, name, value_type, hot)
            SELECT t, a.name, a.value_type, a.hot
              FROM unnest(\(tenantIDs)::bigint[]) AS t,
                   unnest(\(names)::text[], \(types)::text[], \(hot)::boolean[]) AS a(name, value_type, hot)
            """
        )
        step("100 tenants, \(names.count) attributes each")
        let counts = self.layout.entityCounts.map(Int64.init)
        try await client.query(
            """
            INSERT INTO entities (tenant_id, external_key)
            SELECT t.id, 'dev-' || g FROM unnest(\(tenantIDs)::bigint[], \(counts)::bigint[]) AS t(id, n), generate_series(0, t.n - 1) AS g
            """
        )
        step("\(counts.reduce(0, +)) entities")
        try await client.query("SELECT ensure_ts_partitions((now() - interval '62 days')::date, 4)")
        try await client.withConnection { connection in
            try await connection.query("SET synchronous_commit = off", logger: logger)
            try await connection.query("SELECT setseed(0.42)", logger: logger)
            // The planted shapes first: dev-0's dense series and tenant 0's 1M a0 points.
            let planted = self.shape.aggregateRows
            try await connection.query(
                """
                INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, value_decimal, ts)
                SELECT e.tenant_id, e.entity_id, a.attribute_id, round((random() * 1000)::numeric, 2)::double precision,
                       date_trunc('minute', now()) - g * interval '1 minute'
                  FROM entities e JOIN attributes a ON a.tenant_id = e.tenant_id AND a.name = 'a0', generate_series(0, \(self.shape.seriesDays * 1440 - 1)) g
                 WHERE e.tenant_id = \(tenantIDs[0]) AND e.external_key = 'dev-0'
                """,
                logger: logger
            )
            let bounds = try await self.entityBounds(connection, tenant: tenantIDs[0], logger: logger)
            try await connection.query(
                """
                INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, value_decimal, ts)
                SELECT \(tenantIDs[0]), \(bounds.0) + floor(random() * \(bounds.1 - bounds.0 + 1))::bigint, a.attribute_id,
                       round((random() * 1000)::numeric, 2)::double precision, now() - random() * interval '30 days'
                  FROM attributes a, generate_series(1, \(planted - self.shape.seriesDays * 1440)) g
                 WHERE a.tenant_id = \(tenantIDs[0]) AND a.name = 'a0'
                ON CONFLICT DO NOTHING  -- a point is (entity, attribute, time): a random time drawn twice is one point
                """,
                logger: logger
            )
            step("planted: dev-0's 7-day series and tenant 0's \(planted) a0 points")
            // The rest, by each tenant's share, over all 50 attributes and 60 days.
            let rest = max(0, self.shape.values - planted)
            for (index, tenant) in tenantIDs.enumerated() {
                let rows = Int((Double(rest) * self.layout.shares[index]).rounded())
                let bounds = try await self.entityBounds(connection, tenant: tenant, logger: logger)
                let (ids, types) = try await self.attributes(connection, tenant: tenant, logger: logger)
                let chunk = 2_000_000
                var done = 0
                while done < rows {
                    let count = min(chunk, rows - done)
                    try await connection.query(
                        """
                        INSERT INTO entity_values_ts (tenant_id, entity_id, attribute_id, value_decimal, value_text, ts)
                        SELECT \(tenant), entity_id, (\(ids)::integer[])[i],
                               CASE WHEN (\(types)::text[])[i] = 'decimal' THEN round((random() * 1000)::numeric, 2)::double precision END,
                               CASE WHEN (\(types)::text[])[i] = 'text' THEN 'state-' || floor(random() * 16)::int END,
                               ts
                          FROM (SELECT \(bounds.0) + floor(random() * \(bounds.1 - bounds.0 + 1))::bigint AS entity_id,
                                       1 + floor(random() * \(ids.count))::int AS i,
                                       now() - random() * interval '60 days' AS ts
                                  FROM generate_series(1, \(count))) AS r
                        ON CONFLICT DO NOTHING
                        """,
                        logger: logger
                    )
                    done += count
                    if index == 0 || done == rows && index % 20 == 0 { step("tenant \(index): \(done) of \(rows) values") }
                }
            }
            step("\(self.shape.values) values in entity_values_ts")
            // The projection: every entity's ten hot values.
            let hotNames = (0..<self.layout.shape.hotAttributes).map(self.layout.attributeName)
            let attrs = hotNames.map { "'\($0)', round((random() * 1000)::numeric, 2)" }.joined(separator: ", ")
            let times = hotNames.map { "'\($0)', (extract(epoch FROM now()) * 1000000)::bigint" }.joined(separator: ", ")
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO entity_jsonb (tenant_id, entity_id, attrs, attr_ts)
                        SELECT tenant_id, entity_id, jsonb_build_object(\(attrs)), jsonb_build_object(\(times))
                          FROM entities WHERE tenant_id = ANY('{\(tenantIDs.map(String.init).joined(separator: ","))}'::bigint[])
                        ON CONFLICT DO NOTHING
                        """
                ),
                logger: logger
            )
            for tenant in tenantIDs {
                try await connection.query("SELECT refresh_hot_numbers(\(tenant))", logger: logger)
            }
            step("projection: \(counts.reduce(0, +)) entities with \(hotNames.count) hot values, and their numbers")
        }
        return keys
    }

    private func attributes(_ connection: PostgresConnection, tenant: Int64, logger: Logger) async throws -> ([Int32], [String]) {
        let rows = try await connection.query(
            "SELECT attribute_id, value_type FROM attributes WHERE tenant_id = \(tenant) ORDER BY attribute_id",
            logger: logger
        )
        var ids = [Int32]()
        var types = [String]()
        for try await (id, type) in rows.decode((Int32, String).self) {
            ids.append(id)
            types.append(type)
        }
        return (ids, types)
    }

    private func entityBounds(_ connection: PostgresConnection, tenant: Int64, logger: Logger) async throws -> (Int64, Int64) {
        let rows = try await connection.query("SELECT min(entity_id), max(entity_id) FROM entities WHERE tenant_id = \(tenant)", logger: logger)
        for try await (low, high) in rows.decode((Int64, Int64).self) { return (low, high) }
        throw ValidationErrorText("tenant \(tenant) has no entities")
    }
}

struct ValidationErrorText: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
