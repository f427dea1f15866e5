import Hummingbird
import TesseraCore
import TesseraStore

/// Records each request of its routes in the audit trail once answered: the tenant and key
/// (or the admin token), the route and path, the status, the client's address, the request
/// id and when it arrived. A request that failed is recorded with the status it got.
package struct AuditMiddleware: RouterMiddleware {
    package typealias Context = TesseraRequestContext

    let trail: AuditTrail
    let actor: AuditEntry.Actor
    /// For admin routes: the tenant a path names (`/v1/tenants/{id}`), if any.
    let tenantFromPath: Bool

    package init(trail: AuditTrail, actor: AuditEntry.Actor, tenantFromPath: Bool = false) {
        self.trail = trail
        self.actor = actor
        self.tenantFromPath = tenantFromPath
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            let response = try await next(request, context)
            self.record(request, context, status: Int(response.status.code))
            return response
        } catch {
            self.record(request, context, status: Self.status(of: error))
            throw error
        }
    }

    static func status(of error: any Error) -> Int {
        if let error = error as? TesseraError { return error.code.httpStatus }
        return Int((error as? any HTTPResponseError)?.status.code ?? 500)
    }

    private func record(_ request: Request, _ context: Context, status: Int) {
        var tenant = context.tenant?.id
        if tenant == nil, self.tenantFromPath, let id = context.parameters.get("id").flatMap(Int64.init) { tenant = id }
        self.trail.record(AuditEntry(request, context, actor: self.actor, tenantID: tenant, keyID: context.keyGrant?.keyID, status: status))
    }
}

extension AuditEntry {
    /// The entry of a request as answered: its route and path, address, id and arrival time.
    init(_ request: Request, _ context: TesseraRequestContext, actor: Actor, tenantID: Int64?, keyID: Int64?, status: Int) {
        self.init(
            tenantID: tenantID,
            keyID: keyID,
            actor: actor,
            action: "\(request.method.rawValue) \(context.endpointPath ?? request.uri.path)",
            target: request.uri.path,
            status: status,
            clientAddress: context.clientAddress,
            requestID: context.requestID,
            at: context.receivedAt
        )
    }
}
