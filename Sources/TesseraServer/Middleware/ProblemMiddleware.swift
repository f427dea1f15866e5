import HTTPTypes
import Hummingbird
import Logging
import TesseraCore

/// Turns every error into an `application/problem+json` response with a stable code.
/// Unexpected errors become a 500 whose body says nothing internal; the detail is logged.
package struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    package init() {}

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            return try problem.response(from: request, context: context)
        } catch {
            let problem = Problem(Self.clientError(for: error, context: context), instance: request.uri.path)
            if problem.error.code == .internalError {
                context.logger.error("Unhandled error", metadata: ["error": "\(String(reflecting: error))"])
            }
            return try problem.response(from: request, context: context)
        }
    }

    static func clientError(for error: any Error, context: Context) -> TesseraError {
        switch error {
        case let error as TesseraError:
            return error
        case let error as HTTPError:
            return Self.clientError(for: error)
        default:
            return TesseraError(.internalError, "The server failed to handle the request (request id \(context.id)).")
        }
    }

    static func clientError(for error: HTTPError) -> TesseraError {
        switch error.status {
        case .notFound: TesseraError(.notFound, "No such endpoint.")
        case .contentTooLarge: TesseraError(.bodyTooLarge, "The request body is larger than the server accepts.")
        case .methodNotAllowed: TesseraError(.methodNotAllowed, "This endpoint does not take that method.")
        case .unauthorized: TesseraError(.unauthorized, error.body ?? "Authentication failed.")
        case .unsupportedMediaType: TesseraError(.unsupportedMediaType, error.body ?? "Unsupported content type.")
        case .badRequest: TesseraError(.invalidParameter, error.body ?? "Bad request.")
        default:
            error.status.code >= 500
                ? TesseraError(.unavailable, "The server could not handle the request now; retry shortly.")
                : TesseraError(.invalidParameter, error.body ?? error.status.reasonPhrase)
        }
    }
}
