import Foundation
import Logging
import NIOCore
import PostgresNIO

/// The benchmark dataset in InfluxDB: tenant N is measurement `tN`, an entity the tag
/// `entity`, an attribute a field (decimals as floats, text as strings), one line a
/// value with its time in microseconds — the same rows Tessera holds, one field a line
/// as they arrived.
extension InfluxPeer {
    static let database = "bench"

    /// Streams the dataset's rows out of PostgreSQL into InfluxDB in 5,000-line
    /// batches; returns how many values it wrote.
    func load(from client: PostgresClient, tenants: [PeerDatabase.Tenant], logger: Logger) async throws -> Int {
        try await self.createDatabase(Self.database)
        // The rows stream for minutes: no statement timeout on this connection.
        return try await client.withConnection { connection in
            try await connection.query("SET statement_timeout = 0", logger: logger)
            let written = try await self.load(on: connection, tenants: tenants, logger: logger)
            try await connection.query("RESET statement_timeout", logger: logger)
            return written
        }
    }

    private func load(on connection: PostgresConnection, tenants: [PeerDatabase.Tenant], logger: Logger) async throws -> Int {
        var written = 0
        for (index, tenant) in tenants.enumerated() {
            let rows = try await connection.query(
                """
                SELECT e.external_key, a.name, v.value_decimal, v.value_text, (extract(epoch FROM v.ts) * 1000000)::bigint
                  FROM entity_values_ts AS v
                  JOIN entities AS e ON e.tenant_id = v.tenant_id AND e.entity_id = v.entity_id
                  JOIN attributes AS a ON a.tenant_id = v.tenant_id AND a.attribute_id = v.attribute_id
                 WHERE v.tenant_id = \(tenant.id)
                """,
                logger: logger
            )
            var batch = ByteBufferAllocator().buffer(capacity: 5_000 * 48)
            var lines = 0
            for try await (key, name, decimal, text, micros) in rows.decode((String, String, Double?, String?, Int64).self) {
                Self.line(into: &batch, tenant: index, entity: key, field: name, decimal: decimal, text: text, micros: micros)
                lines += 1
                if lines == 5_000 {
                    try await self.write(database: Self.database, lines: batch)
                    written += lines
                    batch.clear()
                    lines = 0
                }
            }
            if lines > 0 {
                try await self.write(database: Self.database, lines: batch)
                written += lines
            }
        }
        return written
    }

    static func line(into buffer: inout ByteBuffer, tenant: Int, entity: String, field: String, decimal: Double?, text: String?, micros: Int64) {
        buffer.writeString("t\(tenant),entity=\(entity) \(field)=")
        if let decimal {
            buffer.writeString("\(decimal)")
        } else {
            buffer.writeString("\"\((text ?? "").replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\"")
        }
        buffer.writeString(" \(micros)\n")
    }

    /// The values of `points` as line protocol, stamped now (a microsecond apart, so none overwrite another).
    static func lines(_ points: [PeerPoint], tenantIndex: [Int64: Int]) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: points.count * 48)
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
        for (offset, point) in points.enumerated() {
            Self.line(
                into: &buffer,
                tenant: tenantIndex[point.tenantID] ?? 0,
                entity: point.entityKey,
                field: point.attributeName,
                decimal: point.decimal,
                text: point.text,
                micros: now + Int64(offset)
            )
        }
        return buffer
    }

    func lookup(_ lookup: ReadOperations.Lookup, timeout: Duration) async throws {
        _ = try await self.query(database: Self.database, "SELECT last(*) FROM t\(lookup.tenant) WHERE entity = 'dev-\(lookup.entity)'", timeout: timeout)
    }

    func aggregate(timeout: Duration) async throws {
        _ = try await self.query(
            database: Self.database,
            "SELECT mean(a0), min(a0), max(a0), count(a0) FROM t0 WHERE time >= now() - 30d AND time < now() + 1d GROUP BY time(1h)",
            timeout: timeout
        )
    }

    func series(timeout: Duration) async throws {
        _ = try await self.query(database: Self.database, "SELECT a0 FROM t0 WHERE entity = 'dev-0' AND time >= now() - 7d LIMIT 10000", timeout: timeout)
    }

    /// How many values of one tenant InfluxDB holds (the load's check).
    func count(tenant: Int, timeout: Duration) async throws -> Int {
        var total = 0
        for item in try await self.query(database: Self.database, "SELECT count(*) FROM t\(tenant)", timeout: timeout) {
            for row in item.values {
                total += row.dropFirst().reduce(0) { $0 + Int($1.number ?? 0) }
            }
        }
        return total
    }
}
