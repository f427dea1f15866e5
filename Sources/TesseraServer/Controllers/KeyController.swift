import Foundation
import Hummingbird
import TesseraCore
import TesseraStore

/// `/v1/keys` (a key of scope `admin`): the tenant's API keys. Creates a key and shows it
/// once; lists the keys by name and first characters only; revokes one; rotates one (a
/// new key with the same name, scope and expiry, shown once; the old one is revoked).
/// A revoked key stops working at once on this server, and on the others within their
/// key cache's lifetime (5 s).
struct KeyController {
    let catalog: Catalog
    let maxBodyBytes: Int

    struct CreateBody: Decodable {
        var name: String
        var scope: String
        var expiresAt: Date?

        enum CodingKeys: String, CodingKey {
            case name, scope
            case expiresAt = "expires_at"
        }
    }

    func addRoutes(to group: RouterGroup<TesseraRequestContext>) {
        group.post(use: self.create)
        group.get(use: self.list)
        group.delete(":id", use: self.revoke)
        group.post(":id/rotate", use: self.rotate)
    }

    @Sendable func create(_ request: Request, context: TesseraRequestContext) async throws -> EditedResponse<KeyCreatedResponse> {
        let tenant = try context.requireTenant()
        let body = try await JSONBody.decode(CreateBody.self, from: request, limit: self.maxBodyBytes)
        let scope = try KeyScope(parsing: body.scope)
        let (stored, key) = try await self.catalog.createKey(name: body.name, scope: scope, expiresAt: body.expiresAt, tenant: tenant)
        context.logger.info("API key created", metadata: ["api_key.new": "\(stored.id)", "api_key.prefix": "\(stored.prefix)", "scope": "\(scope.rawValue)"])
        return EditedResponse(status: .created, response: KeyCreatedResponse(stored, key: key))
    }

    @Sendable func list(_ request: Request, context: TesseraRequestContext) async throws -> KeyListResponse {
        let tenant = try context.requireTenant()
        return KeyListResponse(keys: try await self.catalog.keys(tenant: tenant).map(KeyResponse.init))
    }

    @Sendable func revoke(_ request: Request, context: TesseraRequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let id = try Self.id(context)
        guard let revoked = try await self.catalog.revokeKey(id: id, tenant: tenant) else { throw Self.notFound(id) }
        context.logger.info("API key revoked", metadata: ["api_key.revoked": "\(revoked.id)", "api_key.prefix": "\(revoked.prefix)"])
        return Response(status: .noContent)
    }

    @Sendable func rotate(_ request: Request, context: TesseraRequestContext) async throws -> EditedResponse<KeyCreatedResponse> {
        let tenant = try context.requireTenant()
        let id = try Self.id(context)
        guard let (successor, key) = try await self.catalog.rotateKey(id: id, tenant: tenant) else { throw Self.notFound(id) }
        context.logger.info(
            "API key rotated",
            metadata: ["api_key.revoked": "\(id)", "api_key.new": "\(successor.id)", "api_key.prefix": "\(successor.prefix)"]
        )
        var response = KeyCreatedResponse(successor, key: key)
        response.replaces = id
        return EditedResponse(status: .created, response: response)
    }

    static func id(_ context: TesseraRequestContext) throws(TesseraError) -> Int64 {
        guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else {
            throw TesseraError(.invalidParameter, "The key id must be a positive integer.")
        }
        return id
    }

    static func notFound(_ id: Int64) -> TesseraError {
        TesseraError(.notFound, "The tenant has no live key with id \(id).")
    }
}

/// A key as listed: its name and first characters, never the key.
struct KeyResponse: ResponseEncodable {
    var id: Int64
    var name: String
    var scope: String
    var prefix: String
    var createdAt: Date
    var expiresAt: Date?
    var revokedAt: Date?
    var replacedBy: Int64?

    init(_ key: Catalog.StoredKey) {
        self.id = key.id
        self.name = key.name
        self.scope = key.scope.rawValue
        self.prefix = key.prefix
        self.createdAt = key.createdAt
        self.expiresAt = key.expiresAt
        self.revokedAt = key.revokedAt
        self.replacedBy = key.replacedBy
    }

    enum CodingKeys: String, CodingKey {
        case id, name, scope, prefix
        case createdAt = "created_at"
        case expiresAt = "expires_at"
        case revokedAt = "revoked_at"
        case replacedBy = "replaced_by"
    }
}

struct KeyListResponse: ResponseEncodable {
    var keys: [KeyResponse]
}

/// A key just made: the only time the key itself is shown.
struct KeyCreatedResponse: ResponseEncodable {
    var id: Int64
    var name: String
    var scope: String
    var prefix: String
    var key: String
    var createdAt: Date
    var expiresAt: Date?
    /// The key a rotation revoked.
    var replaces: Int64?

    init(_ stored: Catalog.StoredKey, key: APIKey) {
        self.id = stored.id
        self.name = stored.name
        self.scope = stored.scope.rawValue
        self.prefix = stored.prefix
        self.key = key.value
        self.createdAt = stored.createdAt
        self.expiresAt = stored.expiresAt
    }

    enum CodingKeys: String, CodingKey {
        case id, name, scope, prefix, key, replaces
        case createdAt = "created_at"
        case expiresAt = "expires_at"
    }
}
