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
    /// `numberAttributes` (name → id of the tenant's hot int and decimal
    /// attributes) lets comparisons with numbers use `entity_latest_numbers`.
    package static func search(
        _ query: EntityQuery, tenantID: Int64, numberAttributes: [String: Int32] = [:],
        on connection: PostgresConnection, logger: Logger
    ) async throws -> Page {
        var bindings = PostgresBindings()
        bindings.append(tenantID)
        bindings.append(query.after ?? 0)
        bindings.append(Int64(query.limit + 1))
        let sql: String
        if let plan = NumberIndexPlan(query.filter, numberAttributes: numberAttributes) {
            let candidates = Self.candidates(plan, appendingTo: &bindings)
            if plan.isExact {
                // The index decides alone: cut the page there, read 101 projection rows.
                sql = """
                    WITH page AS (\(candidates) ORDER BY c0.entity_id LIMIT $3)
                    SELECT j.entity_id, e.external_key, e.entity_type, j.attrs::text
                      FROM page
                      JOIN entity_jsonb AS j ON j.tenant_id = $1 AND j.entity_id = page.entity_id
                      JOIN entities AS e ON e.tenant_id = j.tenant_id AND e.entity_id = j.entity_id AND NOT e.is_deleted
                     ORDER BY j.entity_id
                    """
            } else {
                let condition = EntityFilterSQL.condition(
                    for: query.filter, appendingTo: &bindings, existingBinds: 3 + 2 * plan.conditions.count
                )
                sql = """
                    WITH candidates AS MATERIALIZED (\(candidates))
                    SELECT j.entity_id, e.external_key, e.entity_type, j.attrs::text
                      FROM candidates AS c
                      JOIN entity_jsonb AS j ON j.tenant_id = $1 AND j.entity_id = c.entity_id
                      JOIN entities AS e ON e.tenant_id = j.tenant_id AND e.entity_id = j.entity_id AND NOT e.is_deleted
                     WHERE \(condition)
                     ORDER BY j.entity_id
                     LIMIT $3
                    """
            }
        } else {
            let condition = EntityFilterSQL.condition(for: query.filter, appendingTo: &bindings, existingBinds: 3)
            sql = """
                SELECT j.entity_id, e.external_key, e.entity_type, j.attrs::text
                  FROM entity_jsonb AS j
                  JOIN entities AS e ON e.tenant_id = j.tenant_id AND e.entity_id = j.entity_id AND NOT e.is_deleted
                 WHERE j.tenant_id = $1 AND j.entity_id > $2 AND \(condition)
                 ORDER BY j.entity_id
                 LIMIT $3
                """
        }
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

    /// Entity ids (`c0.entity_id`) after the cursor that meet every condition of
    /// the plan: one index range a condition, joined on the entity. Binds $4 on.
    private static func candidates(_ plan: NumberIndexPlan, appendingTo bindings: inout PostgresBindings) -> String {
        var next = 4
        func range(_ alias: String, _ condition: NumberIndexPlan.Condition) -> String {
            bindings.append(condition.attributeID)
            bindings.append(condition.literal)
            defer { next += 2 }
            return "\(alias).tenant_id = $1 AND \(alias).attribute_id = $\(next) AND \(alias).value \(condition.op.rawValue) $\(next + 1)::numeric"
        }
        var sql = "SELECT c0.entity_id FROM entity_latest_numbers AS c0"
        var joins = [String]()
        let first = range("c0", plan.conditions[0])
        for (index, condition) in plan.conditions.enumerated().dropFirst() {
            let alias = "c\(index)"
            joins.append(" JOIN entity_latest_numbers AS \(alias) ON \(alias).entity_id = c0.entity_id AND \(range(alias, condition))")
        }
        sql += joins.joined()
        sql += " WHERE \(first) AND c0.entity_id > $2"
        return sql
    }
}
