import HTTPTypes
import Hummingbird
import TesseraCore
import TesseraStore

/// Gives every request an id: the client's `X-Request-Id` when it is 1 to 128 visible
/// ASCII characters, else a new one. It is answered in `X-Request-Id`, put in the log's
/// metadata (`request.id`), in the request's audit entry, and in the database connection's
/// `application_name` while the request's statements run (`RequestTag`, `TenantScope`).
package struct RequestIDMiddleware: RouterMiddleware {
    package typealias Context = TesseraRequestContext

    package init() {}

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let given = request.headers[.requestID], RequestID.isUsable(given) { context.requestID = given }
        context.logger[metadataKey: "request.id"] = "\(context.requestID)"
        // The request's statements name it in pg_stat_activity (TenantScope).
        var response = try await RequestTag.$current.withValue(context.requestID) { try await next(request, context) }
        response.headers[.requestID] = context.requestID
        return response
    }
}

enum RequestID {
    static func make() -> String { RandomToken.base62(length: 20) }

    static func isUsable(_ text: String) -> Bool {
        (1...128).contains(text.utf8.count) && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
}
