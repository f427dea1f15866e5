import Foundation
import Logging
import PostgresNIO
import TesseraCore

/// Reads of one entity's latest state: the hot projection (`entity_jsonb`) and,
/// on request, the latest point of non-hot attributes from the time series.
package enum EntityReads {
    /// An entity with the latest values of its hot attributes.
    package struct State: Sendable {
        package var entity: Entity
        /// `entity_jsonb.attrs`: {"name": value}; `{}` before any hot value arrived.
        package var values: JSONValue
        /// `entity_jsonb.attr_ts`: {"name": microseconds since 1970}.
        package var times: JSONValue
        /// When this state was last changed (µs): the later of the entity's and its
        /// projection row's `updated_at`. Cache entries are versioned by it.
        package var version: Int64
    }

    /// The latest point of one attribute.
    package struct LatestPoint: Sendable {
        package var attribute: String
        package var value: JSONValue
        package var timeMicros: Int64
    }

    /// The live entity with this key, with its projection; nil if there is none.
    /// As a named statement, parsed and planned once per connection, where `prepared`
    /// allows it (not behind a transaction-pooling pgbouncer older than 1.21 or with
    /// `max_prepared_statements = 0`, which cannot keep a connection's statements).
    package static func state(
        key: String,
        tenantID: Int64,
        on connection: PostgresConnection,
        prepared: PreparedStatementPolicy? = nil,
        logger: Logger
    ) async throws -> State? {
        let statement = StateStatement(tenantID: tenantID, key: key)
        if let prepared, prepared.allows(connection) {
            do {
                for try await row in try await connection.execute(statement, logger: logger) {
                    return try Self.state(row, tenantID: tenantID)
                }
            } catch {
                prepared.failed(on: connection)
                throw error
            }
        } else {
            let query = PostgresQuery(unsafeSQL: StateStatement.sql, binds: statement.makeBindings())
            for try await row in try await connection.query(query, logger: logger).decode(StateStatement.Row.self) {
                return try Self.state(row, tenantID: tenantID)
            }
        }
        return nil
    }

    private static func state(_ row: StateStatement.Row, tenantID: Int64) throws -> State {
        let (id, externalKey, type, version, createdAt, updatedAt, values, times, changed) = row
        let entity = Entity(id: id, tenantID: tenantID, key: externalKey, type: type, version: version, createdAt: createdAt, updatedAt: updatedAt)
        return State(
            entity: entity,
            values: try JSONReader.parse(Array(values.utf8)),
            times: try JSONReader.parse(Array(times.utf8)),
            version: changed
        )
    }

    /// `state(key:…)` as a named prepared statement.
    struct StateStatement: PostgresPreparedStatement {
        static let name = "tessera_entity_state_v3"
        /// Under the tenant wall: `$3` is the tenant again, as text, and `$4` the request's id (`TenantScope`).
        static let sql = TenantScope.wrap(
            """
            SELECT e.entity_id, e.external_key, e.entity_type, e.version, e.created_at, e.updated_at,
                   coalesce(j.attrs, '{}')::text, coalesce(j.attr_ts, '{}')::text,
                   (extract(epoch FROM greatest(e.updated_at, j.updated_at)) * 1000000)::bigint
              FROM entities AS e
              LEFT JOIN entity_jsonb AS j ON j.tenant_id = e.tenant_id AND j.entity_id = e.entity_id
             WHERE e.tenant_id = $1 AND e.external_key = $2 AND NOT e.is_deleted
            """,
            bindCount: 2
        )
        typealias Row = (Int64, String, String?, Int64, Date, Date, String, String, Int64)

        var tenantID: Int64
        var key: String

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 4)
            bindings.append(self.tenantID)
            bindings.append(self.key)
            bindings.append(String(self.tenantID))
            bindings.appendRequestTag()
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }

    /// The latest point of each given attribute of one entity (attributes without a point are left out).
    package static func latestPoints(
        entityID: Int64,
        attributes: [Attribute],
        tenantID: Int64,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [LatestPoint] {
        guard !attributes.isEmpty else { return [] }
        let ids = attributes.map(\.id)
        // Newest month first, stopping once every attribute has its point (migration 0012):
        // no lookup plans every partition.
        let query: PostgresQuery = """
            SELECT attribute_id, (extract(epoch FROM ts) * 1000000)::bigint, value_int, value_decimal, value_text, value_bool,
                   (extract(epoch FROM value_ts) * 1000000)::bigint, value_json::text
              FROM latest_points(\(tenantID), \(entityID), \(ids)::integer[])
            """
        let rows = try await connection.query(TenantScope.read(query, tenant: tenantID), logger: logger)
        var points = [LatestPoint]()
        for try await row in rows {
            var cells = RowCells(row)
            let attributeID = try cells.next(Int32.self)
            let time = try cells.next(Int64.self)
            let value = try StoredValueSQL.value(&cells)
            guard let attribute = attributes.first(where: { $0.id == attributeID }) else { continue }
            points.append(LatestPoint(attribute: attribute.definition.name, value: value, timeMicros: time))
        }
        return points
    }
}
