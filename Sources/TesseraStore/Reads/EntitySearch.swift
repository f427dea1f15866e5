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
        _ query: EntityQuery,
        tenantID: Int64,
        attributes: AttributesByName = [:],
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Page {
        if let plan = NumberIndexPlan(query.filter, attributes: attributes),
            let page = try await Self.searchSlots(query, plan: plan, tenantID: tenantID, on: connection, logger: logger)
        {
            return page
        }
        var bindings = Self.pageBindings(query, tenantID: tenantID)
        let condition = EntityFilterSQL.condition(for: query.filter, appendingTo: &bindings, existingBinds: 3)
        let sql = """
            SELECT j.entity_id, e.external_key, e.entity_type, j.attrs::text
              FROM entity_jsonb AS j
              JOIN entities AS e ON e.tenant_id = j.tenant_id AND e.entity_id = j.entity_id AND NOT e.is_deleted
             WHERE j.tenant_id = $1 AND j.entity_id > $2 AND \(condition)
             ORDER BY j.entity_id
             LIMIT $3
            """
        return try await Self.page(PostgresQuery(unsafeSQL: sql, binds: bindings), query, tenantID: tenantID, on: connection, logger: logger)
            ?? Page(matches: [], nextAfter: nil)
    }

    /// Through the slot columns; nil when the node's catalog does not give the plan's
    /// attributes the slots the server's cached catalog did (a slot given back and
    /// taken by another attribute, not yet seen by this server or not yet replayed
    /// on this replica): the caller then filters on the projection.
    private static func searchSlots(
        _ query: EntityQuery,
        plan: NumberIndexPlan,
        tenantID: Int64,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Page? {
        var bindings = Self.pageBindings(query, tenantID: tenantID)
        let slotConditions = Self.slotConditions(plan, appendingTo: &bindings)
        let pairs = Set(plan.conditions.map { "(\($0.attributeID), \($0.slot))" })
        let guardSQL = """
            guard_slots AS MATERIALIZED (
                SELECT count(*) = \(pairs.count) AS ok FROM attributes
                 WHERE tenant_id = $1 AND hot AND (attribute_id, number_slot) IN (\(pairs.sorted().joined(separator: ", "))))
            """
        // A row of NULLs says the slots did not hold: the rest of the answer is empty.
        let stale = "SELECT NULL, NULL, NULL, NULL FROM guard_slots WHERE NOT ok"
        let sql: String
        if plan.isExact {
            // The slot row decides alone: cut the page there, read 101 projection rows.
            sql = """
                WITH \(guardSQL), page AS (
                    SELECT h.entity_id FROM entity_hot_numbers AS h
                     WHERE (SELECT ok FROM guard_slots) AND h.tenant_id = $1 AND h.entity_id > $2 AND \(slotConditions)
                     ORDER BY h.entity_id LIMIT $3)
                SELECT j.entity_id, e.external_key, e.entity_type, j.attrs::text
                  FROM page
                  JOIN entity_jsonb AS j ON j.tenant_id = $1 AND j.entity_id = page.entity_id
                  JOIN entities AS e ON e.tenant_id = j.tenant_id AND e.entity_id = j.entity_id AND NOT e.is_deleted
                UNION ALL \(stale)
                ORDER BY 1
                """
        } else {
            let condition = EntityFilterSQL.condition(
                for: query.filter,
                appendingTo: &bindings,
                existingBinds: 3 + plan.conditions.count
            )
            sql = """
                WITH \(guardSQL)
                (SELECT j.entity_id, e.external_key, e.entity_type, j.attrs::text
                   FROM entity_hot_numbers AS h
                   JOIN entity_jsonb AS j ON j.tenant_id = h.tenant_id AND j.entity_id = h.entity_id
                   JOIN entities AS e ON e.tenant_id = j.tenant_id AND e.entity_id = j.entity_id AND NOT e.is_deleted
                  WHERE (SELECT ok FROM guard_slots) AND h.tenant_id = $1 AND h.entity_id > $2
                    AND \(slotConditions) AND \(condition)
                  ORDER BY h.entity_id
                  LIMIT $3)
                UNION ALL \(stale)
                ORDER BY 1
                """
        }
        return try await Self.page(PostgresQuery(unsafeSQL: sql, binds: bindings), query, tenantID: tenantID, on: connection, logger: logger)
    }

    /// $1 the tenant, $2 the cursor, $3 the page's size and one more.
    private static func pageBindings(_ query: EntityQuery, tenantID: Int64) -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(tenantID)
        bindings.append(query.after ?? 0)
        bindings.append(Int64(query.limit + 1))
        return bindings
    }

    /// The matches of a page query, cut to the limit; nil for a row of NULLs.
    private static func page(
        _ sql: PostgresQuery,
        _ query: EntityQuery,
        tenantID: Int64,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Page? {
        let rows = try await connection.query(TenantScope.read(sql, tenant: tenantID), logger: logger)
        var matches = [Match]()
        for try await (id, key, type, values) in rows.decode((Int64?, String?, String?, String?).self) {
            guard let id, let key, let values else { return nil }
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
    /// its index's tenant key (`k<slot>`, stored as `tenant_id * 16 + slot`: migrations 0009 and
    /// 0016, which says why a column and not the expression: row-level security):
    /// with it PostgreSQL may AND the bitmaps of two slots' indexes.
    private static func slotConditions(_ plan: NumberIndexPlan, appendingTo bindings: inout PostgresBindings) -> String {
        var next = 4
        return plan.conditions.map { condition in
            bindings.append(condition.value)
            defer { next += 1 }
            let slot = condition.slot
            return "h.k\(slot) = $1 * 16 + \(slot) AND h.n\(slot) \(condition.op.rawValue) $\(next)"
        }.joined(separator: " AND ")
    }
}
