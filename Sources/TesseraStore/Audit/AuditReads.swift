import Foundation
import Logging
import PostgresNIO
import TesseraCore

/// A tenant's audit trail, oldest first, a page at a time, behind the tenant wall.
package enum AuditReads {
    package struct Page: Sendable {
        package var entries: [Stored]
        /// The cursor of the next page; nil on the last.
        package var next: Cursor?
    }

    package struct Stored: Sendable, Equatable {
        package var id: Int64
        package var entry: AuditEntry
    }

    /// Where a page starts: after this entry (time, then id).
    package struct Cursor: Sendable, Equatable {
        package var atMicros: Int64
        package var id: Int64

        package var text: String { "\(self.atMicros).\(self.id)" }

        package init(atMicros: Int64, id: Int64) {
            self.atMicros = atMicros
            self.id = id
        }

        package init(parsing text: String) throws(TesseraError) {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 2, let at = Int64(parts[0]), let id = Int64(parts[1]), id > 0 else {
                throw TesseraError(.invalidParameter, "cursor is the next_cursor of a previous page.")
            }
            self.init(atMicros: at, id: id)
        }
    }

    /// Entries of the tenant with `from <= at < to`, after `cursor`, at most `limit`.
    package static func page(
        tenant: Int64,
        fromMicros: Int64?,
        toMicros: Int64?,
        after cursor: Cursor?,
        limit: Int,
        on client: PostgresClient,
        logger: Logger
    ) async throws -> Page {
        let from = fromMicros.map(Timestamps.format(micros:))
        let to = toMicros.map(Timestamps.format(micros:))
        let afterAt = cursor.map { Timestamps.format(micros: $0.atMicros) }
        let afterID = cursor?.id ?? 0
        let query: PostgresQuery = """
            SELECT audit_id, key_id, actor, action, target, status, client_address, request_id,
                   (extract(epoch FROM at) * 1000000)::bigint
              FROM audit_log
             WHERE tenant_id = \(tenant)
               AND (\(from)::timestamptz IS NULL OR at >= \(from)::timestamptz)
               AND (\(to)::timestamptz IS NULL OR at < \(to)::timestamptz)
               AND (\(afterAt)::timestamptz IS NULL OR (at, audit_id) > (\(afterAt)::timestamptz, \(afterID)))
             ORDER BY at, audit_id
             LIMIT \(Int64(limit + 1))
            """
        let rows = try await client.liveQuery(TenantScope.read(query, tenant: tenant), logger: logger)
        var entries = [(Stored, Int64)]()
        for try await (id, keyID, actor, action, target, status, address, requestID, at) in rows.decode(
            (Int64, Int64?, String, String, String, Int32, String?, String?, Int64).self
        ) {
            let entry = AuditEntry(
                tenantID: tenant,
                keyID: keyID,
                actor: AuditEntry.Actor(rawValue: actor) ?? .key,
                action: action,
                target: target,
                status: Int(status),
                clientAddress: address,
                requestID: requestID,
                at: Date(timeIntervalSince1970: Double(at) / 1_000_000)
            )
            entries.append((Stored(id: id, entry: entry), at))
        }
        var next: Cursor?
        if entries.count > limit {
            entries.removeLast(entries.count - limit)
            if let last = entries.last { next = Cursor(atMicros: last.1, id: last.0.id) }
        }
        return Page(entries: entries.map(\.0), next: next)
    }
}
