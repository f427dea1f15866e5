import Logging
import PostgresNIO
import TesseraCore

/// `GET /v1/entities/{key}/series/{attribute}`: one entity's raw points of one
/// attribute in time order, a keyset page at a time (by the point's time).
package enum SeriesReads {
    package struct Point: Sendable {
        package var timeMicros: Int64
        package var value: JSONValue
    }

    package struct Page: Sendable {
        package var points: [Point]
        /// The time to continue after, when there may be more.
        package var nextAfterMicros: Int64?
    }

    package static func points(
        _ query: SeriesQuery,
        entityID: Int64,
        attributeID: Int32,
        valueType: ValueType? = nil,
        tenantID: Int64,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Page {
        // A page with one bound (the newest points before a time, the oldest after one) first
        // reads the bound's month as a bounded statement, planned for that month alone; only a
        // page the month does not fill walks the months. Both read in the page's order from the
        // same month, so a filled month's page is the walk's page.
        func read(_ query: SeriesQuery) async throws -> Page {
            try await Self.page(
                query,
                entityID: entityID,
                attributeID: attributeID,
                valueType: valueType,
                tenantID: tenantID,
                on: connection,
                logger: logger
            )
        }
        if let month = Self.boundMonth(query) {
            var bounded = query
            (bounded.fromMicros, bounded.toMicros) = (month.from, month.to)
            let page = try await read(bounded)
            if page.nextAfterMicros != nil { return page }
        }
        return try await read(query)
    }

    /// The part of the bound's month a page with one bound and no cursor reads first: from the
    /// month's start to `to` (newest first), or from `from` to the next month's start (oldest first).
    static func boundMonth(_ query: SeriesQuery) -> (from: Int64, to: Int64)? {
        guard query.afterMicros == nil else { return nil }
        switch (query.fromMicros, query.toMicros, query.descending) {
        case (nil, let to?, true):
            let start = ArchivedMonths.start(ArchivedMonths.monthIndex(to - 1))
            return (start, to)
        case (let from?, nil, false):
            let end = ArchivedMonths.start(ArchivedMonths.monthIndex(from) + 1)
            return (from, end)
        default:
            return nil
        }
    }

    private static func page(
        _ query: SeriesQuery,
        entityID: Int64,
        attributeID: Int32,
        valueType: ValueType?,
        tenantID: Int64,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Page {
        let from = query.fromMicros.map(PostgresTimestamp.init(micros:))
        let to = query.toMicros.map(PostgresTimestamp.init(micros:))
        let after = query.afterMicros.map(PostgresTimestamp.init(micros:))
        let order = query.descending ? "DESC" : "ASC"
        let afterCondition = query.descending ? "ts < $6::timestamptz" : "ts > $6::timestamptz"
        var bindings = PostgresBindings()
        bindings.append(tenantID)
        bindings.append(entityID)
        bindings.append(attributeID)
        bindings.append(from)
        bindings.append(to)
        bindings.append(after)
        bindings.append(Int64(query.limit + 1))
        // With both bounds given, one statement whose partitions PostgreSQL prunes when it
        // plans; with a bound open, series_points() walks the months in the page's order
        // (migration 0012), so no read plans every partition. Both read the rows and the packs
        // of packed months (migration 0027), each side in the page's order, merged. The times
        // are typed parameters, so only the months they reach are planned (`PostgresTimestamp`).
        // The time as stored and only the attribute's own value column, when its type is known:
        // a page of 10,000 points decodes 2 cells a row, not 7.
        let columns = StoredValueSQL.columns(for: valueType)
        let sql =
            query.fromMicros != nil && query.toMicros != nil
            ? """
            SELECT ts, \(columns)
              FROM ((SELECT ts, value_int, value_decimal, value_text, value_bool, value_ts, value_json
                       FROM entity_values_ts
                      WHERE tenant_id = $1 AND entity_id = $2 AND attribute_id = $3
                        AND ts >= $4::timestamptz AND ts < $5::timestamptz
                      ORDER BY ts \(order))
                    UNION ALL
                    (SELECT ts, value_int, value_decimal, value_text, value_bool, value_ts, value_json
                       FROM packed_values($1, ARRAY[$2::bigint], $3, $4::timestamptz, $5::timestamptz)
                      ORDER BY ts \(order))) AS t
             WHERE $6::timestamptz IS NULL OR \(afterCondition)
             ORDER BY ts \(order)
             LIMIT $7
            """
            : """
            SELECT ts, \(columns)
              FROM series_points($1, $2, $3, $4::timestamptz, $5::timestamptz, $6::timestamptz, \(query.descending), $7::integer)
            """
        let rows = try await connection.query(TenantScope.read(PostgresQuery(unsafeSQL: sql, binds: bindings), tenant: tenantID), logger: logger)
        var points = [Point]()
        points.reserveCapacity(min(query.limit + 1, 10_001))
        for try await row in rows {
            var cells = RowCells(row)
            let time = try cells.next(PostgresTimestamp.self).micros
            let value = try StoredValueSQL.value(&cells, type: valueType)
            points.append(Point(timeMicros: time, value: value))
        }
        var next: Int64?
        if points.count > query.limit {
            points.removeLast(points.count - query.limit)
            next = points.last?.timeMicros
        }
        return Page(points: points, nextAfterMicros: next)
    }
}
