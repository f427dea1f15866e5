import HTTPTypes
import Hummingbird
import TesseraCore
import TesseraStore

/// Resolves `Authorization: Bearer <API key>` to a tenant and the key's grant, puts both
/// in the context, and checks the key's scope allows the route. A missing or unknown key
/// is a 401 `unauthorized`, a revoked one `key_revoked`, an expired one `key_expired`; a
/// key whose scope is too narrow a 403 `insufficient_scope`. The key is never logged.
package struct TenantAuthMiddleware: RouterMiddleware {
    package typealias Context = TesseraRequestContext

    /// The scope a route group needs.
    package enum Requirement: Sendable {
        /// `read` for GET and HEAD, `write` for the other methods.
        case byMethod
        case scope(KeyScope)

        func scope(for method: HTTPRequest.Method) -> KeyScope {
            switch self {
            case .byMethod: method == .get || method == .head ? .read : .write
            case .scope(let scope): scope
            }
        }
    }

    let catalog: Catalog
    /// Requests in flight per tenant: past the limit, 429.
    let limits: TenantLimits
    let requirement: Requirement
    /// Where a request refused for its key's scope is recorded (the tenant's trail shows
    /// what its keys tried); the requests let through are `AuditMiddleware`'s.
    let audit: AuditTrail?

    package init(catalog: Catalog, limits: TenantLimits, requirement: Requirement = .byMethod, audit: AuditTrail? = nil) {
        self.catalog = catalog
        self.limits = limits
        self.requirement = requirement
        self.audit = audit
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token = BearerToken.from(request.headers) else {
            throw Problem(
                TesseraError(.unauthorized, "Send the tenant's API key as `Authorization: Bearer <key>`."),
                headers: [.wwwAuthenticate: "Bearer realm=\"tessera\""]
            )
        }
        let authentication = try await self.catalog.authenticate(APIKey(value: token))
        let tenant: Tenant
        let grant: KeyGrant
        do {
            (tenant, grant) = try KeyCheck.granted(authentication, needs: self.requirement.scope(for: request.method))
        } catch {
            if let (refusedTenant, refusedKey) = Self.keyOfATenant(authentication), let audit = self.audit {
                audit.record(
                    AuditEntry(request, context, actor: .key, tenantID: refusedTenant.id, keyID: refusedKey, status: AuditMiddleware.status(of: error))
                )
            }
            throw error
        }
        var context = context
        context.tenant = tenant
        context.keyGrant = grant
        context.logger[metadataKey: "tenant.id"] = "\(tenant.id)"
        context.logger[metadataKey: "api_key.id"] = "\(grant.keyID)"
        let authorized = context
        return try await self.limits.withRequestSlot(tenant: tenant.id) { try await next(request, authorized) }
    }
}

extension TenantAuthMiddleware {
    /// The tenant and key of a refusal the tenant's trail should show: a key of its own
    /// that was revoked, has expired, or is too narrow; nil for an unknown key.
    static func keyOfATenant(_ authentication: Catalog.Authentication) -> (Tenant, Int64)? {
        switch authentication {
        case .granted(let tenant, let grant): (tenant, grant.keyID)
        case .revoked(let tenant, let keyID), .expired(let tenant, let keyID): (tenant, keyID)
        case .unknown: nil
        }
    }
}

/// What an authentication means for a request that needs a scope: the tenant and grant,
/// or the problem to answer.
enum KeyCheck {
    static func granted(_ authentication: Catalog.Authentication, needs scope: KeyScope) throws -> (Tenant, KeyGrant) {
        let challenge: HTTPFields = [.wwwAuthenticate: "Bearer realm=\"tessera\", error=\"invalid_token\""]
        switch authentication {
        case .unknown:
            throw Problem(TesseraError(.unauthorized, "The API key is not valid."), headers: challenge)
        case .revoked(_, _):
            throw Problem(TesseraError(.keyRevoked, "The API key was revoked (or replaced by a rotation); use a live key of the tenant."), headers: challenge)
        case .expired(_, _):
            throw Problem(TesseraError(.keyExpired, "The API key has expired; use a live key of the tenant."), headers: challenge)
        case .granted(let tenant, let grant):
            guard grant.scope.allows(scope) else {
                throw Problem(
                    TesseraError(.insufficientScope, "This needs a key of scope '\(scope.rawValue)' or wider; this key's scope is '\(grant.scope.rawValue)'."),
                    headers: [.wwwAuthenticate: "Bearer realm=\"tessera\", error=\"insufficient_scope\", scope=\"\(scope.rawValue)\""]
                )
            }
            return (tenant, grant)
        }
    }
}

/// Guards admin endpoints with the admin token, compared in constant time.
package struct AdminAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let adminToken: String

    package init(adminToken: String) {
        self.adminToken = adminToken
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token = BearerToken.from(request.headers), BearerToken.constantTimeEquals(token, self.adminToken) else {
            throw Problem(
                TesseraError(.unauthorized, "This endpoint needs the admin token as `Authorization: Bearer <token>`."),
                headers: [.wwwAuthenticate: "Bearer realm=\"tessera-admin\""]
            )
        }
        return try await next(request, context)
    }
}

enum BearerToken {
    static func from(_ headers: HTTPFields) -> String? {
        guard let value = headers[.authorization] else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : String(token)
    }

    static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let left = Array(lhs.utf8)
        let right = Array(rhs.utf8)
        var difference = UInt8(left.count == right.count ? 0 : 1)
        for index in 0..<max(left.count, right.count) {
            let a = index < left.count ? left[index] : 0
            let b = index < right.count ? right[index] : 0
            difference |= a ^ b
        }
        return difference == 0
    }
}
