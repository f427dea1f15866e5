import Foundation
import Hummingbird
import PostgresNIO
import TesseraCore
import TesseraStore

/// `GET /v1/audit[?from&to&limit&cursor]` (a key of scope admin): the tenant's audit
/// trail, oldest first, `from` inclusive and `to` exclusive (RFC 3339 or epoch ms),
/// `limit` ≤ 1,000 (default 100); `next_cursor` continues. Entries appear within about a
/// second (the servers append them in batches).
struct AuditController {
    let primary: PostgresClient

    func addRoutes(to group: RouterGroup<TesseraRequestContext>) {
        group.get(use: self.list)
    }

    @Sendable func list(_ request: Request, context: TesseraRequestContext) async throws -> AuditPageResponse {
        let tenant = try context.requireTenant()
        let parameters = request.uri.queryParameters
        let from = try parameters.get("from").map { text throws(TesseraError) in try SeriesQuery.time(text, parameter: "from") }
        let to = try parameters.get("to").map { text throws(TesseraError) in try SeriesQuery.time(text, parameter: "to") }
        let limit =
            try parameters.get("limit").map { text throws(TesseraError) -> Int in
                guard let value = Int(text), (1...1_000).contains(value) else {
                    throw TesseraError(.invalidParameter, "limit is a whole number from 1 to 1000.")
                }
                return value
            } ?? 100
        let cursor = try parameters.get("cursor").map { try AuditReads.Cursor(parsing: String($0)) }
        let page: AuditReads.Page
        do {
            page = try await AuditReads.page(
                tenant: tenant.id,
                fromMicros: from,
                toMicros: to,
                after: cursor,
                limit: limit,
                on: self.primary,
                logger: context.logger
            )
        } catch {
            throw DatabaseErrors.clientError(for: error)
        }
        return AuditPageResponse(entries: page.entries.map(AuditEntryResponse.init), nextCursor: page.next?.text)
    }
}

struct AuditPageResponse: ResponseEncodable {
    var entries: [AuditEntryResponse]
    var nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case entries
        case nextCursor = "next_cursor"
    }
}

struct AuditEntryResponse: ResponseEncodable {
    var id: Int64
    var keyID: Int64?
    var actor: String
    var action: String
    var target: String
    var status: Int
    var clientAddress: String?
    var requestID: String?
    var at: Date

    init(_ stored: AuditReads.Stored) {
        self.id = stored.id
        self.keyID = stored.entry.keyID
        self.actor = stored.entry.actor.rawValue
        self.action = stored.entry.action
        self.target = stored.entry.target
        self.status = stored.entry.status
        self.clientAddress = stored.entry.clientAddress
        self.requestID = stored.entry.requestID
        self.at = stored.entry.at
    }

    enum CodingKeys: String, CodingKey {
        case id, actor, action, target, status, at
        case keyID = "key_id"
        case clientAddress = "client_address"
        case requestID = "request_id"
    }
}
