import Foundation
import HTTPTypes
import Hummingbird
import TesseraCore
import TesseraStore

/// The InfluxDB 1.x write API, so unmodified Influx clients can write to Tessera:
/// `POST /write?db=…&precision=…` (204, or 400 `partial write` naming what was
/// dropped while the good lines are kept), `GET|HEAD /ping`, and `CREATE DATABASE`
/// through `/query` (a no-op: every tenant has one implicit database).
///
/// The tenant key is taken the ways Influx clients send credentials:
/// `Authorization: Token <key>` or `Bearer <key>`, basic auth (the password), or
/// the `p` query parameter.
struct InfluxController {
    static let version = "1.8.10-tessera"
    let catalog: Catalog
    let services: IngestServices
    let audit: AuditTrail

    func addRoutes(to router: RouterGroup<TesseraRequestContext>) {
        // Decoding a write's lines is long CPU work: off the connection's event loop.
        router.group("write").add(middleware: GlobalExecutorMiddleware()).post(use: self.write)
        router.get("ping", use: self.ping)
        router.head("ping", use: self.ping)
        router.get("query", use: self.query)
        router.post("query", use: self.query)
    }

    @Sendable func ping(_ request: Request, context: TesseraRequestContext) async throws -> Response {
        Response(status: .noContent, headers: [Self.versionHeader: Self.version])
    }

    @Sendable func write(_ request: Request, context: TesseraRequestContext) async throws -> Response {
        let (tenant, grant) = try await self.authenticate(request, needs: .write)
        var context = context
        context.tenant = tenant
        context.keyGrant = grant
        let authorized = context
        return try await self.audited(request, authorized) {
            try await self.services.limits.withRequestSlot(tenant: tenant.id) { try await self.write(request, context: authorized, tenant: tenant) }
        }
    }

    /// Records the request in the audit trail once answered, as `AuditMiddleware` does
    /// for the routes behind `TenantAuthMiddleware`.
    private func audited(_ request: Request, _ context: TesseraRequestContext, _ handle: () async throws -> Response) async throws -> Response {
        func record(_ status: Int) {
            self.audit.record(AuditEntry(request, context, actor: .key, tenantID: context.tenant?.id, keyID: context.keyGrant?.keyID, status: status))
        }
        do {
            let response = try await handle()
            record(Int(response.status.code))
            return response
        } catch {
            record(AuditMiddleware.status(of: error))
            throw error
        }
    }

    private func write(_ request: Request, context: TesseraRequestContext, tenant: Tenant) async throws -> Response {
        guard let database = request.uri.queryParameters.get("db"), !database.isEmpty else {
            throw TesseraError(.invalidParameter, "database is required")
        }
        let precision = try IngestController.precision(request)
        if let length = request.headers[.contentLength].flatMap(Int.init), length > self.services.maxBodyBytes {
            throw TesseraError(.bodyTooLarge, "Request Entity Too Large")
        }
        var session = IngestSession(tenant: tenant, durability: .fast, services: self.services)
        do {
            try session.precheck()
            try await BodyPointReader.read(request.body, format: .lineProtocol(precision), maxBytes: self.services.maxBodyBytes, into: &session)
            try await session.finish()
        } catch {
            // What a write that failed midway had stored.
            var problem = Problem.from(error, request: request, context: context)
            problem.partial = session.progress
            if session.progress != nil { problem.rejected = session.rejected }
            throw problem
        }
        guard session.rejectedCount == 0 else {
            let first = session.rejected[0]
            let message = (session.accepted > 0 ? "partial write: " : "") + first.detail + " dropped=\(session.rejectedCount)"
            throw Problem(TesseraError(.partialWrite, message, line: first.index), instance: request.uri.path, rejected: session.rejected, influxError: message)
        }
        return Response(status: .noContent, headers: [Self.versionHeader: Self.version])
    }

    @Sendable func query(_ request: Request, context: TesseraRequestContext) async throws -> Response {
        let (tenant, grant) = try await self.authenticate(request, needs: .read)
        var context = context
        context.tenant = tenant
        context.keyGrant = grant
        let authorized = context
        return try await self.audited(request, authorized) { try await self.answerQuery(request, context: authorized) }
    }

    private func answerQuery(_ request: Request, context: TesseraRequestContext) async throws -> Response {
        var statement = request.uri.queryParameters.get("q") ?? ""
        if statement.isEmpty {
            // Clients POST the statement as a form: q=CREATE+DATABASE+...
            var request = request
            let form = String(buffer: try await request.collectBody(upTo: 64 * 1024))
            for pair in form.split(separator: "&") where pair.hasPrefix("q=") {
                statement = String(pair.dropFirst(2)).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
        }
        // Form encoding writes spaces as '+'.
        statement = statement.replacingOccurrences(of: "+", with: " ")
        guard statement.trimmingCharacters(in: .whitespaces).uppercased().hasPrefix("CREATE DATABASE") else {
            throw TesseraError(.invalidParameter, "Tessera takes InfluxDB writes only; query through the /v1 API.")
        }
        return Response(
            status: .ok,
            headers: [.contentType: "application/json", Self.versionHeader: Self.version],
            body: .init(byteBuffer: .init(string: #"{"results":[{"statement_id":0}]}"#))
        )
    }

    /// The tenant of the request's key, if its scope allows `scope`; InfluxDB's clients
    /// read the problem's code in `error` (`authorization failed` for a missing key).
    private func authenticate(_ request: Request, needs scope: KeyScope) async throws -> (Tenant, KeyGrant) {
        guard let key = Self.credential(request) else { throw TesseraError(.unauthorized, "authorization failed") }
        let authentication = try await self.catalog.authenticate(APIKey(value: key))
        // What InfluxDB answers for a bad token; revoked, expired and too narrow keys say so.
        if authentication == .unknown { throw TesseraError(.unauthorized, "authorization failed") }
        return try KeyCheck.granted(authentication, needs: scope)
    }

    /// The key from any of the places Influx clients put credentials.
    static func credential(_ request: Request) -> String? {
        self.credential(authorization: request.headers[.authorization], password: request.uri.queryParameters.get("p"))
    }

    /// The key in an `Authorization` header (`Token`, `Bearer`, or Basic's password), or
    /// else the `p` query parameter.
    static func credential(authorization header: String?, password: String?) -> String? {
        if let header {
            let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            if parts.count == 2 {
                let scheme = parts[0].lowercased()
                let value = parts[1].trimmingCharacters(in: .whitespaces)
                if scheme == "token" || scheme == "bearer" { return value }
                if scheme == "basic", let data = Data(base64Encoded: value), let text = String(data: data, encoding: .utf8) {
                    let pair = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                    if pair.count == 2, !pair[1].isEmpty { return String(pair[1]) }
                    return pair.first.map(String.init)
                }
            }
        }
        if let password, !password.isEmpty { return password }
        return nil
    }

    static let versionHeader = HTTPField.Name("X-Influxdb-Version")!
    static let errorHeader = HTTPField.Name("X-Influxdb-Error")!
}
