import Logging
import PostgresNIO
import TesseraCore

/// `POST /v1/query/entities`: entities whose hot values match a filter, in
/// entity-id order, a keyset page at a time.
package enum EntitySearch {
    package struct Match: Sendable {
        package var entityID: Int64
        package var key: String
        package var type: String?
        package var values: JSONValue
    }

    package struct Page: Sendable {
        package var matches: [Match]
        /// The id to continue after, when there may be more.
        package var nextAfter: Int64?
    }

    /// The filter must name only hot attributes of the tenant (the caller checks).
    package static func search(_ query: EntityQuery, tenantID: Int64, on connection: PostgresConnection, logger: Logger) async throws -> Page {
        var bindings = PostgresBindings()
        bindings.append(tenantID)
        bindings.append(query.after ?? 0)
        bindings.append(Int64(query.limit + 1))
        let condition = EntityFilterSQL.condition(for: query.filter, appendingTo: &bindings, existingBinds: 3)
        let sql = """
            SELECT j.entity_id, e.external_key, e.entity_type, j.attrs::text
              FROM entity_jsonb AS j
              JOIN entities AS e ON e.tenant_id = j.tenant_id AND e.entity_id = j.entity_id AND NOT e.is_deleted
             WHERE j.tenant_id = $1 AND j.entity_id > $2 AND \(condition)
             ORDER BY j.entity_id
             LIMIT $3
            """
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
        var matches = [Match]()
        for try await (id, key, type, values) in rows.decode((Int64, String, String?, String).self) {
            matches.append(Match(entityID: id, key: key, type: type, values: try JSONReader.parse(Array(values.utf8))))
        }
        var next: Int64?
        if matches.count > query.limit {
            matches.removeLast(matches.count - query.limit)
            next = matches.last?.entityID
        }
        return Page(matches: matches, nextAfter: next)
    }
}
