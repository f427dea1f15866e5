import Foundation
import Logging
import PostgresNIO

/// The seed's starting point, as a peer for `bench all`: one EAV table holding
/// every value, RANGE-partitioned on entity_id (1M ids a partition), with the
/// original index set the seed removed (value per attribute, partial indexes on
/// int and timestamp values) plus one for an entity's values; written one
/// `INSERT` a value in autocommit, read with plain SQL. It lives in the schema
/// `naive_eav` of the benchmark's own database, loaded with the dataset's rows.
struct NaiveEAVPeer {
    let client: PostgresClient
    let tenants: [PeerDatabase.Tenant]
    let logger: Logger

    /// Loads the dataset's rows unless an earlier run did; returns the rows it holds.
    func load() async throws -> Int {
        let ids = self.tenants.map(\.id)
        if let rows = try await self.loadedRows() { return rows }
        // Loads run for minutes: no statement timeout on this connection while they do.
        try await self.client.withConnection { connection in
            try await connection.query("SET statement_timeout = 0", logger: self.logger)
            try await connection.query("DROP SCHEMA IF EXISTS naive_eav CASCADE", logger: self.logger)
            try await connection.query("CREATE SCHEMA naive_eav", logger: self.logger)
            try await connection.query(
                """
                CREATE TABLE naive_eav.entity_values (
                    entity_id bigint NOT NULL, attribute_id integer NOT NULL, tenant_id bigint NOT NULL,
                    value_int bigint, value_decimal double precision, value_text text, value_bool boolean,
                    value_ts timestamptz, value_json jsonb, ingested_at timestamptz NOT NULL DEFAULT now()
                ) PARTITION BY RANGE (entity_id)
                """,
                logger: self.logger
            )
            var top: Int64 = 0
            for try await value in try await connection.query("SELECT coalesce(max(entity_id), 0) FROM entities", logger: self.logger).decode(Int64.self) {
                top = value
            }
            // Room for the entities ingest may create while the benchmark runs.
            for part in 0...(Int(top) / 1_000_000 + 1) {
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            CREATE TABLE naive_eav.entity_values_p\(part) PARTITION OF naive_eav.entity_values
                            FOR VALUES FROM (\(part * 1_000_000)) TO (\((part + 1) * 1_000_000))
                            """
                    ),
                    logger: self.logger
                )
            }
            try await connection.query(
                """
                INSERT INTO naive_eav.entity_values (entity_id, attribute_id, tenant_id, value_int, value_decimal, value_text,
                                                     value_bool, value_ts, value_json, ingested_at)
                SELECT entity_id, attribute_id, tenant_id, value_int, value_decimal, value_text, value_bool, value_ts, value_json, ts
                  FROM entity_values_ts WHERE tenant_id = ANY(\(ids))
                """,
                logger: self.logger
            )
            // Indexes after the load (faster than keeping them during it); the ingest run keeps them.
            for statement in [
                "CREATE INDEX idx_entity_values_entity ON naive_eav.entity_values (entity_id, attribute_id, ingested_at)",
                "CREATE INDEX idx_entity_values_attr ON naive_eav.entity_values (attribute_id, tenant_id, value_decimal)",
                "CREATE INDEX idx_entity_values_int ON naive_eav.entity_values (attribute_id, value_int) WHERE value_int IS NOT NULL",
                "CREATE INDEX idx_entity_values_date ON naive_eav.entity_values (attribute_id, value_ts) WHERE value_ts IS NOT NULL",
                "CREATE INDEX idx_entity_values_text ON naive_eav.entity_values (attribute_id, value_text) WHERE value_text IS NOT NULL",
                "VACUUM ANALYZE naive_eav.entity_values",
                "CREATE TABLE naive_eav.loaded AS SELECT count(*)::bigint AS rows FROM naive_eav.entity_values",
            ] {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
            }
            try await connection.query("RESET statement_timeout", logger: self.logger)
        }
        return try await self.loadedRows() ?? 0
    }

    private func loadedRows() async throws -> Int? {
        try await PeerDatabase.loadedCount(self.client, table: "naive_eav.loaded", logger: self.logger)
    }

    /// The latest value of each attribute of one entity.
    func lookup(_ lookup: ReadOperations.Lookup) async throws {
        let tenant = self.tenants[lookup.tenant].id
        let rows = try await self.client.query(
            """
            SELECT DISTINCT ON (v.attribute_id) v.attribute_id, v.value_decimal, v.value_text, v.ingested_at
              FROM entities AS e
              JOIN naive_eav.entity_values AS v ON v.entity_id = e.entity_id
             WHERE e.tenant_id = \(tenant) AND e.external_key = \("dev-\(lookup.entity)")
             ORDER BY v.attribute_id, v.ingested_at DESC
            """,
            logger: self.logger
        )
        for try await _ in rows {}
    }

    /// Entities whose latest a0 and a1 pass the filter: the latest value per entity
    /// of each attribute, joined.
    func filter(_ filter: ReadOperations.Filter) async throws {
        let tenant = self.tenants[filter.tenant]
        let rows = try await self.client.query(
            """
            WITH a0 AS (SELECT DISTINCT ON (entity_id) entity_id, value_decimal AS v FROM naive_eav.entity_values
                         WHERE tenant_id = \(tenant.id) AND attribute_id = \(tenant.attributes["a0"] ?? 0) ORDER BY entity_id, ingested_at DESC),
                 a1 AS (SELECT DISTINCT ON (entity_id) entity_id, value_decimal AS v FROM naive_eav.entity_values
                         WHERE tenant_id = \(tenant.id) AND attribute_id = \(tenant.attributes["a1"] ?? 0) ORDER BY entity_id, ingested_at DESC)
            SELECT a0.entity_id FROM a0 JOIN a1 USING (entity_id)
             WHERE a0.v > \(filter.low) AND a1.v < \(filter.high)
             ORDER BY a0.entity_id LIMIT 100
            """,
            logger: self.logger
        )
        for try await _ in rows {}
    }

    /// Tenant 0's a0 by hour over the last 30 days.
    func aggregate() async throws {
        let tenant = self.tenants[0]
        let rows = try await self.client.query(
            """
            SELECT date_trunc('hour', ingested_at), avg(value_decimal), min(value_decimal), max(value_decimal), count(*)
              FROM naive_eav.entity_values
             WHERE tenant_id = \(tenant.id) AND attribute_id = \(tenant.attributes["a0"] ?? 0)
               AND ingested_at >= now() - interval '30 days' AND ingested_at < now() + interval '1 day'
             GROUP BY 1 ORDER BY 1
            """,
            logger: self.logger
        )
        for try await _ in rows {}
    }

    /// Tenant 0's dev-0, a0, the last 7 days.
    func series() async throws {
        let tenant = self.tenants[0]
        let rows = try await self.client.query(
            """
            SELECT v.ingested_at, v.value_decimal
              FROM entities AS e JOIN naive_eav.entity_values AS v ON v.entity_id = e.entity_id
             WHERE e.tenant_id = \(tenant.id) AND e.external_key = 'dev-0' AND v.attribute_id = \(tenant.attributes["a0"] ?? 0)
               AND v.ingested_at >= now() - interval '7 days'
             ORDER BY v.ingested_at LIMIT 10000
            """,
            logger: self.logger
        )
        for try await _ in rows {}
    }

    /// One value: one INSERT, in autocommit (a transaction and a synchronous commit each).
    func insert(_ point: PeerPoint) async throws {
        try await self.client.query(
            """
            INSERT INTO naive_eav.entity_values (entity_id, attribute_id, tenant_id, value_decimal, value_text)
            VALUES (\(point.entityID), \(point.attributeID), \(point.tenantID), \(point.decimal), \(point.text))
            """,
            logger: self.logger
        )
    }
}

/// One value as the peers write it: ids already resolved, a decimal or a text.
struct PeerPoint: Sendable {
    var tenantID: Int64
    var entityID: Int64
    var attributeID: Int32
    var attributeName: String
    var entityKey: String
    var decimal: Double?
    var text: String?
}
