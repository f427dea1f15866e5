import Foundation
import Logging
import PostgresNIO

/// The seed's alternative 4, as a peer for `bench all`: one JSONB document per
/// entity holding the latest value of every attribute, with a GIN
/// (`jsonb_path_ops`) index, updated per batch (`doc || new values`). It keeps no
/// history, so it has no series and no aggregate over time. It lives in the schema
/// `pure_jsonb` of the benchmark's own database, loaded from the dataset's rows.
struct PureJSONBPeer {
    let client: PostgresClient
    let tenants: [PeerDatabase.Tenant]
    let logger: Logger

    /// Builds the documents unless an earlier run did; returns how many there are.
    func load() async throws -> Int {
        let ids = self.tenants.map(\.id)
        if let documents = try await self.loadedDocuments() { return documents }
        // Loads run for minutes: no statement timeout on this connection while they do.
        try await self.client.withConnection { connection in
            try await connection.query("SET statement_timeout = 0", logger: self.logger)
            try await connection.query("DROP SCHEMA IF EXISTS pure_jsonb CASCADE", logger: self.logger)
            try await connection.query("CREATE SCHEMA pure_jsonb", logger: self.logger)
            try await connection.query(
                """
                CREATE TABLE pure_jsonb.entities (
                    tenant_id bigint NOT NULL, entity_id bigint NOT NULL, doc jsonb NOT NULL DEFAULT '{}',
                    PRIMARY KEY (tenant_id, entity_id)
                )
                """,
                logger: self.logger
            )
            try await connection.query(
                """
                INSERT INTO pure_jsonb.entities (tenant_id, entity_id, doc)
                SELECT tenant_id, entity_id, jsonb_object_agg(name, value)
                  FROM (SELECT DISTINCT ON (v.tenant_id, v.entity_id, v.attribute_id) v.tenant_id, v.entity_id, a.name,
                               coalesce(to_jsonb(v.value_decimal), to_jsonb(v.value_text), to_jsonb(v.value_int)) AS value
                          FROM entity_values_ts AS v
                          JOIN attributes AS a ON a.tenant_id = v.tenant_id AND a.attribute_id = v.attribute_id
                         WHERE v.tenant_id = ANY(\(ids))
                         ORDER BY v.tenant_id, v.entity_id, v.attribute_id, v.ts DESC) AS latest
                 GROUP BY tenant_id, entity_id
                """,
                logger: self.logger
            )
            for statement in [
                "CREATE INDEX pure_jsonb_doc ON pure_jsonb.entities USING gin (doc jsonb_path_ops)",
                "VACUUM ANALYZE pure_jsonb.entities",
                "CREATE TABLE pure_jsonb.loaded AS SELECT count(*)::bigint AS documents FROM pure_jsonb.entities",
            ] {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
            }
            try await connection.query("RESET statement_timeout", logger: self.logger)
        }
        return try await self.loadedDocuments() ?? 0
    }

    private func loadedDocuments() async throws -> Int? {
        try await PeerDatabase.loadedCount(self.client, table: "pure_jsonb.loaded", logger: self.logger)
    }

    func lookup(_ lookup: ReadOperations.Lookup) async throws {
        let tenant = self.tenants[lookup.tenant].id
        let rows = try await self.client.query(
            """
            SELECT d.doc::text FROM entities AS e
              JOIN pure_jsonb.entities AS d ON d.tenant_id = e.tenant_id AND d.entity_id = e.entity_id
             WHERE e.tenant_id = \(tenant) AND e.external_key = \("dev-\(lookup.entity)")
            """,
            logger: self.logger
        )
        for try await _ in rows {}
    }

    func filter(_ filter: ReadOperations.Filter) async throws {
        let tenant = self.tenants[filter.tenant].id
        let rows = try await self.client.query(
            """
            SELECT entity_id, doc::text FROM pure_jsonb.entities
             WHERE tenant_id = \(tenant)
               AND jsonb_path_exists(doc, '$.a0 ? (@ > $v)', jsonb_build_object('v', \(filter.low)::float8))
               AND jsonb_path_exists(doc, '$.a1 ? (@ < $v)', jsonb_build_object('v', \(filter.high)::float8))
             ORDER BY entity_id LIMIT 100
            """,
            logger: self.logger
        )
        for try await _ in rows {}
    }

    /// A batch of values: one upsert, a document per entity merged into the stored one.
    func write(_ points: [PeerPoint]) async throws {
        try await self.client.query(
            """
            INSERT INTO pure_jsonb.entities AS d (tenant_id, entity_id, doc)
            SELECT t, e, jsonb_object_agg(k, v::jsonb)
              FROM unnest(\(points.map(\.tenantID)), \(points.map(\.entityID)), \(points.map(\.attributeName)),
                          \(points.map { Self.json($0) })) AS p(t, e, k, v)
             GROUP BY t, e ORDER BY t, e
            ON CONFLICT (tenant_id, entity_id) DO UPDATE SET doc = d.doc || EXCLUDED.doc
            """,
            logger: self.logger
        )
    }

    private static func json(_ point: PeerPoint) -> String {
        if let decimal = point.decimal { return "\(decimal)" }
        return "\"\(point.text ?? "")\""
    }
}
