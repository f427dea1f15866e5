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
    /// `attributes` (the tenant's attributes the filter names, by name) lets
    /// comparisons with numbers read the slot columns of `entity_hot_numbers`.
    package static func search(
        _ query: EntityQuery, tenantID: Int64, attributes: [String: Attribute] = [:],
        on connection: PostgresConnection, logger: Logger
    ) async throws -> Page {
        var bindings = PostgresBindings()
        bindings.append(tenantID)
        bindings.append(query.after ?? 0)
        bindings.append(Int64(query.limit + 1))
        let sql: String
        if let plan = NumberIndexPlan(query.filter, attributes: attributes) {
            let slotConditions = Self.slotConditions(plan, appendingTo: &bindings)
            if plan.isExact {
                // The slot row decides alone: cut the page there, read 101 projection rows.
                sql = """
                    WITH page AS (
                        SELECT h.entity_id FROM entity_hot_numbers AS h
                         WHERE h.tenant_id = $1 AND h.entity_id > $2 AND \(slotConditions)
                         ORDER BY h.entity_id LIMIT $3)
                    SELECT j.entity_id, e.external_key, e.entity_type, j.attrs::text
                      FROM page
                      JOIN entity_jsonb AS j ON j.tenant_id = $1 AND j.entity_id = page.entity_id
                      JOIN entities AS e ON e.tenant_id = j.tenant_id AND e.entity_id = j.entity_id AND NOT e.is_deleted
                     ORDER BY j.entity_id
                    """
            } else {
                let condition = EntityFilterSQL.condition(
                    for: query.filter, appendingTo: &bindings, existingBinds: 3 + plan.conditions.count
                )
                sql = """
                    SELECT j.entity_id, e.external_key, e.entity_type, j.attrs::text
                      FROM entity_hot_numbers AS h
                      JOIN entity_jsonb AS j ON j.tenant_id = h.tenant_id AND j.entity_id = h.entity_id
                      JOIN entities AS e ON e.tenant_id = j.tenant_id AND e.entity_id = j.entity_id AND NOT e.is_deleted
                     WHERE h.tenant_id = $1 AND h.entity_id > $2 AND \(slotConditions) AND \(condition)
                     ORDER BY h.entity_id
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

    /// The plan's conditions on the slot columns, binds $4 on. Each slot also names
    /// its index's tenant expression (`tenant_id * 16 + slot`, see migration 0009):
    /// with it PostgreSQL may AND the bitmaps of two slots' indexes.
    private static func slotConditions(_ plan: NumberIndexPlan, appendingTo bindings: inout PostgresBindings) -> String {
        var next = 4
        return plan.conditions.map { condition in
            bindings.append(condition.value)
            defer { next += 1 }
            let slot = condition.slot
            return "h.tenant_id * 16 + \(slot) = $1 * 16 + \(slot) AND h.n\(slot) \(condition.op.rawValue) $\(next)"
        }.joined(separator: " AND ")
    }
}
