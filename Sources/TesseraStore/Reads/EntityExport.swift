import Logging
import PostgresNIO
import TesseraCore

/// `GET /v1/entities/{key}/export` and `GET /v1/subjects/{subject}/export`: every stored
/// point of some entities, a month's partition at a time (each query names one month, so
/// PostgreSQL plans one partition), in (month, entity, attribute, time) order, a keyset
/// page at a time.
package enum EntityExport {
    package struct Point: Sendable {
        package var entityID: Int64
        package var attributeID: Int32
        package var timeMicros: Int64
        package var value: JSONValue
    }

    /// Where a page starts: a month (its bounds in µs) and the last point before it.
    package struct Position: Sendable {
        package var monthIndex = 0
        package var after: (entityID: Int64, attributeID: Int32, timeMicros: Int64)?

        package init() {}
    }

    /// The months that have a partition, oldest first, as [from, to) in µs.
    package static func months(on connection: PostgresConnection, logger: Logger) async throws -> [(from: Int64, to: Int64)] {
        let rows = try await connection.query(
            """
            SELECT (extract(epoch FROM month::timestamp AT TIME ZONE 'UTC') * 1000000)::bigint,
                   (extract(epoch FROM (month + interval '1 month') AT TIME ZONE 'UTC') * 1000000)::bigint
              FROM ts_partition_months() ORDER BY month
            """,
            logger: logger
        )
        var months = [(from: Int64, to: Int64)]()
        for try await (from, to) in rows.decode((Int64, Int64).self) { months.append((from, to)) }
        return months
    }

    /// Up to `limit` points of the entities in one month after `after`.
    package static func page(
        month: (from: Int64, to: Int64),
        after: (entityID: Int64, attributeID: Int32, timeMicros: Int64)?,
        entityIDs: [Int64],
        tenantID: Int64,
        limit: Int,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [Point] {
        var bindings = PostgresBindings()
        bindings.append(tenantID)
        bindings.append(entityIDs)
        bindings.append(PostgresTimestamp(micros: month.from))
        bindings.append(PostgresTimestamp(micros: month.to))
        bindings.append(after?.entityID ?? Int64.min)
        bindings.append(after?.attributeID ?? Int32.min)
        bindings.append(PostgresTimestamp(micros: after?.timeMicros ?? month.from))
        bindings.append(Int64(limit))
        let sql = """
            SELECT entity_id, attribute_id, (extract(epoch FROM ts) * 1000000)::bigint, value_int, value_decimal, value_text,
                   value_bool, (extract(epoch FROM value_ts) * 1000000)::bigint, value_json::text
              FROM ((SELECT entity_id, attribute_id, ts, value_int, value_decimal, value_text, value_bool, value_ts, value_json
                       FROM entity_values_ts
                      WHERE tenant_id = $1 AND entity_id = ANY($2) AND ts >= $3::timestamptz AND ts < $4::timestamptz
                        AND (entity_id, attribute_id, ts) > ($5, $6, $7::timestamptz)
                      ORDER BY entity_id, attribute_id, ts)
                    UNION ALL
                    -- A packed month's points (migration 0027).
                    (SELECT entity_id, attribute_id, ts, value_int, value_decimal, value_text, value_bool, value_ts, value_json
                       FROM packed_values($1, $2, NULL, $3::timestamptz, $4::timestamptz)
                      WHERE (entity_id, attribute_id, ts) > ($5, $6, $7::timestamptz)
                      ORDER BY entity_id, attribute_id, ts)) AS t
             ORDER BY entity_id, attribute_id, ts
             LIMIT $8
            """
        let query = TenantScope.read(PostgresQuery(unsafeSQL: sql, binds: bindings), tenant: tenantID)
        var points = [Point]()
        for try await row in try await connection.query(query, logger: logger) {
            var cells = RowCells(row)
            let entityID = try cells.next(Int64.self)
            let attributeID = try cells.next(Int32.self)
            let time = try cells.next(Int64.self)
            let value = try StoredValueSQL.value(&cells)
            points.append(Point(entityID: entityID, attributeID: attributeID, timeMicros: time, value: value))
        }
        return points
    }
}
