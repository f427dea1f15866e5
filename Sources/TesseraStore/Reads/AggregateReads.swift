import Logging
import PostgresNIO
import TesseraCore

/// `POST /v1/query/aggregate`: one attribute's points bucketed by time (and by
/// entity, on request), with the asked-for functions per bucket. It reads the
/// composite (tenant_id, attribute_id, ts) index and the partitions of the range, and
/// the packs of packed months (migration 0027).
package enum AggregateReads {
    package struct Row: Sendable {
        package var bucketMicros: Int64
        /// Set when grouped by entity.
        package var entityKey: String?
        /// One value per requested function, in the order asked; nil for an empty result (e.g. avg of nothing).
        package var values: [JSONValue]
    }

    /// Which functions an attribute of this type supports.
    package static func supports(_ function: AggregateFunction, type: ValueType) -> Bool {
        switch function {
        case .count, .first, .last: true
        case .avg, .sum: type == .int || type == .decimal
        case .min, .max: type == .int || type == .decimal || type == .timestamp || type == .text
        }
    }

    package static func aggregate(
        _ query: AggregateQuery,
        attribute: Attribute,
        tenantID: Int64,
        maxRows: Int,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [Row] {
        if let hours = Self.wholeHours(of: query, type: attribute.definition.type) {
            return try await Self.fromRollups(query, hours: hours, attribute: attribute, tenantID: tenantID, maxRows: maxRows, on: connection, logger: logger)
        }
        let column = attribute.definition.type.column
        // A timestamp reads as everywhere else in the API (UTC, `Z`), not as to_jsonb writes it.
        let isTimestamp = attribute.definition.type == .timestamp
        func value(_ expression: String) -> String {
            isTimestamp ? "to_jsonb(\(StoredValueSQL.utcText(expression)))" : "to_jsonb(\(expression))"
        }
        let selects = query.functions.map { function -> String in
            switch function {
            // sum / count, not avg(): avg of doubles also sums squares, which overflow far sooner.
            case .avg: "to_jsonb((sum(v) / count(v))::double precision)"
            case .min: value("min(v)")
            case .max: value("max(v)")
            case .sum: attribute.definition.type == .int ? "to_jsonb(sum(v))" : "to_jsonb(sum(v)::double precision)"
            case .count: "to_jsonb(count(*))"
            case .first: value("(array_agg(v ORDER BY ts))[1]")
            case .last: value("(array_agg(v ORDER BY ts DESC))[1]")
            }
        }
        var bindings = PostgresBindings()
        bindings.append(tenantID)
        bindings.append(attribute.id)
        bindings.append(PostgresTimestamp(micros: query.fromMicros))
        bindings.append(PostgresTimestamp(micros: query.toMicros))
        bindings.append(Double(query.bucket.micros) / 1_000_000)
        bindings.append(Int64(maxRows + 1))
        var entityCondition = ""
        if let keys = query.entities {
            bindings.append(keys)
            entityCondition = "AND entity_id IN (SELECT entity_id FROM entities WHERE tenant_id = $1 AND external_key = ANY($7::text[]))"
        }
        let groupEntity = query.groupByEntity
        let sql = """
            WITH points AS (
                SELECT ts, entity_id, \(column) AS v,
                       date_bin(make_interval(secs => $5::double precision), ts, timestamptz '1970-01-01 00:00:00+00') AS bucket
                  FROM (SELECT ts, entity_id, \(column) FROM entity_values_ts
                         WHERE tenant_id = $1 AND attribute_id = $2 AND ts >= $3::timestamptz AND ts < $4::timestamptz
                        UNION ALL
                        SELECT ts, entity_id, \(column) FROM packed_values($1, NULL, $2, $3::timestamptz, $4::timestamptz)) AS t
                 WHERE true \(entityCondition)
            ), grouped AS (
                SELECT bucket\(groupEntity ? ", entity_id" : ""), \(selects.enumerated().map { "\($1) AS f\($0)" }.joined(separator: ", "))
                  FROM points
                 GROUP BY bucket\(groupEntity ? ", entity_id" : "")
            )
            SELECT (extract(epoch FROM g.bucket) * 1000000)::bigint, \(groupEntity ? "e.external_key" : "NULL::text"),
                   jsonb_build_array(\(selects.indices.map { "g.f\($0)" }.joined(separator: ", ")))::text
              FROM grouped AS g
              \(groupEntity ? "JOIN entities AS e ON e.tenant_id = $1 AND e.entity_id = g.entity_id" : "")
             ORDER BY 1\(groupEntity ? ", 2" : "")
             LIMIT $6
            """
        // In a transaction of the tenant's, not with the setting in the statement: a scan
        // of many points may then run in parallel (see TenantScope).
        return try await TenantScope.transaction(tenant: tenantID, on: connection, logger: logger) { connection in
            let rows = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
            var result = [Row]()
            for try await (bucket, key, values) in rows.decode((Int64, String?, String).self) {
                guard case .array(let parsed) = try JSONReader.parse(Array(values.utf8)) else { continue }
                result.append(Row(bucketMicros: bucket, entityKey: key, values: parsed))
            }
            return result
        }
    }

    static let hourMicros: Int64 = 3_600_000_000

    /// The parts of the range the points are read for (the rest comes from the hourly rollups).
    package static func rawRanges(of query: AggregateQuery, type: ValueType) -> [(from: Int64, to: Int64)] {
        guard let hours = Self.wholeHours(of: query, type: type) else { return [(query.fromMicros, query.toMicros)] }
        return [(query.fromMicros, hours.first), (hours.end, query.toMicros)].filter { $0.from < $0.to }
    }

    /// The whole hours `[first, end)` inside the range when the hourly rollups can
    /// answer: a numeric attribute, buckets of whole hours, no entity filter or
    /// grouping, and at least one whole hour in the range.
    package static func wholeHours(of query: AggregateQuery, type: ValueType) -> (first: Int64, end: Int64)? {
        guard type == .int || type == .decimal, query.entities == nil, !query.groupByEntity,
            query.bucket.micros % Self.hourMicros == 0
        else { return nil }
        func floorHour(_ micros: Int64) -> Int64 {
            Timestamps.floorDivide(micros, Self.hourMicros) * Self.hourMicros
        }
        let first = floorHour(query.fromMicros) == query.fromMicros ? query.fromMicros : floorHour(query.fromMicros) + Self.hourMicros
        let end = floorHour(query.toMicros)
        return first < end ? (first, end) : nil
    }

    /// Whole hours from `entity_values_hourly`, the partial hours at the ends from
    /// the points, folded into the requested buckets.
    static func fromRollups(
        _ query: AggregateQuery,
        hours: (first: Int64, end: Int64),
        attribute: Attribute,
        tenantID: Int64,
        maxRows: Int,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [Row] {
        let isInt = attribute.definition.type == .int
        let cast = isInt ? "bigint" : "double precision"
        let selects = query.functions.map { function -> String in
            switch function {
            case .avg: "to_jsonb((sum(s) / sum(n))::double precision)"
            case .min: "to_jsonb(min(mn)::\(cast))"
            case .max: "to_jsonb(max(mx)::\(cast))"
            case .sum: isInt ? "to_jsonb(sum(s))" : "to_jsonb(sum(s)::double precision)"
            case .count: "to_jsonb(sum(n)::bigint)"
            case .first: "to_jsonb(((array_agg(fv ORDER BY fts))[1])::\(cast))"
            case .last: "to_jsonb(((array_agg(lv ORDER BY lts DESC))[1])::\(cast))"
            }
        }
        var bindings = PostgresBindings()
        bindings.append(tenantID)
        bindings.append(attribute.id)
        bindings.append(PostgresTimestamp(micros: hours.first))
        bindings.append(PostgresTimestamp(micros: hours.end))
        bindings.append(PostgresTimestamp(micros: query.fromMicros))
        bindings.append(PostgresTimestamp(micros: query.toMicros))
        bindings.append(Double(query.bucket.micros) / 1_000_000)
        bindings.append(Int64(maxRows + 1))
        let column = attribute.definition.type.column
        let sql = """
            WITH parts AS (
                SELECT hour AS t, count AS n, sum AS s, min AS mn, max AS mx, first_ts AS fts, first_value AS fv, last_ts AS lts, last_value AS lv
                  FROM entity_values_hourly
                 WHERE tenant_id = $1 AND attribute_id = $2 AND hour >= $3::timestamptz AND hour < $4::timestamptz
                UNION ALL
                SELECT date_bin('1 hour', ts, timestamptz '1970-01-01 00:00:00+00'), count(*), sum(v), min(v), max(v),
                       min(ts), (array_agg(v ORDER BY ts))[1], max(ts), (array_agg(v ORDER BY ts DESC))[1]
                  FROM (SELECT ts, \(column)::numeric AS v FROM entity_values_ts
                         WHERE tenant_id = $1 AND attribute_id = $2 AND \(column) IS NOT NULL
                           AND ((ts >= $5::timestamptz AND ts < $3::timestamptz) OR (ts >= $4::timestamptz AND ts < $6::timestamptz))
                        UNION ALL
                        SELECT ts, \(column)::numeric FROM packed_values($1, NULL, $2, $5::timestamptz, $3::timestamptz) WHERE \(column) IS NOT NULL
                        UNION ALL
                        SELECT ts, \(column)::numeric FROM packed_values($1, NULL, $2, $4::timestamptz, $6::timestamptz) WHERE \(column) IS NOT NULL) AS edge
                 GROUP BY 1
            )
            SELECT (extract(epoch FROM bucket) * 1000000)::bigint, jsonb_build_array(\(selects.joined(separator: ", ")))::text
              FROM (SELECT date_bin(make_interval(secs => $7::double precision), t, timestamptz '1970-01-01 00:00:00+00') AS bucket, *
                      FROM parts) AS p
             GROUP BY bucket
             ORDER BY bucket
             LIMIT $8
            """
        // The edges read points: in a transaction of the tenant's, as `aggregate` does.
        return try await TenantScope.transaction(tenant: tenantID, on: connection, logger: logger) { connection in
            let rows = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
            var result = [Row]()
            for try await (bucket, values) in rows.decode((Int64, String).self) {
                guard case .array(let parsed) = try JSONReader.parse(Array(values.utf8)) else { continue }
                result.append(Row(bucketMicros: bucket, entityKey: nil, values: parsed))
            }
            return result
        }
    }
}
