import HTTPTypes
import Hummingbird
import TesseraCore
import TesseraStore

/// Resolves `Authorization: Bearer <API key>` to a tenant and puts it in the context.
/// A missing or unknown key is a 401; the key itself is never logged.
package struct TenantAuthMiddleware: RouterMiddleware {
    package typealias Context = TesseraRequestContext
    let catalog: Catalog
    /// Requests in flight per tenant: past the limit, 429.
    let limits: TenantLimits

    package init(catalog: Catalog, limits: TenantLimits) {
        self.catalog = catalog
        self.limits = limits
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token = BearerToken.from(request.headers) else {
            throw Problem(
                TesseraError(.unauthorized, "Send the tenant's API key as `Authorization: Bearer <key>`."),
                headers: [.wwwAuthenticate: "Bearer realm=\"tessera\""]
            )
        }
        guard let tenant = try await self.catalog.tenant(forKey: APIKey(value: token)) else {
            throw Problem(
                TesseraError(.unauthorized, "The API key is not valid."),
                headers: [.wwwAuthenticate: "Bearer realm=\"tessera\", error=\"invalid_token\""]
            )
        }
        var context = context
        context.tenant = tenant
        context.logger[metadataKey: "tenant.id"] = "\(tenant.id)"
        let authorized = context
        return try await self.limits.withRequestSlot(tenant: tenant.id) { try await next(request, authorized) }
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
