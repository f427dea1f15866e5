import Hummingbird
import Logging

/// One log line per request once it is answered (README: Operating Tessera): method, route
/// template, status, duration, tenant, response bytes (when known before the body is sent)
/// and, from the logger's metadata, the request id. Outside the problem middleware, so it
/// sees the status the client gets.
package struct AccessLogMiddleware: RouterMiddleware {
    package typealias Context = TesseraRequestContext

    package init() {}

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            Self.log(request, context, status: Int(response.status.code), bytes: response.body.contentLength, since: start)
            return response
        } catch {
            Self.log(request, context, status: Int((error as? any HTTPResponseError)?.status.code ?? 500), bytes: nil, since: start)
            throw error
        }
    }

    static func log(_ request: Request, _ context: Context, status: Int, bytes: Int?, since start: ContinuousClock.Instant) {
        guard context.logger.logLevel <= .info else { return }
        let elapsed = ContinuousClock.now - start
        let milliseconds = Double(elapsed.components.seconds) * 1_000 + Double(elapsed.components.attoseconds) / 1e15
        var metadata: Logger.Metadata = [
            "http.method": "\(request.method.rawValue)",
            "http.route": "\(context.endpointPath ?? "NotFound")",
            "http.status": "\(status)",
            "duration_ms": "\((milliseconds * 1_000).rounded() / 1_000)",
        ]
        if let tenant = context.trace.tenantID { metadata["tenant.id"] = "\(tenant)" }
        if let bytes { metadata["http.response_bytes"] = "\(bytes)" }
        context.logger.info("request", metadata: metadata)
    }
}
