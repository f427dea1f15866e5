import HTTPTypes
import Hummingbird
import Logging
import TesseraCore

/// Turns every error into an `application/problem+json` response with a stable code
/// (`Problem.from`). The one error→HTTP path: the InfluxDB endpoints' errors pass
/// through here too, rendered for Influx clients by `InfluxProblemMiddleware` first.
package struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    package init() {}

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return try Problem.from(error, request: request, context: context).response(from: request, context: context)
        }
    }
}

extension Problem {
    /// The problem for any error a handler threw: a `Problem` as it is, a
    /// `TesseraError` with its code, Hummingbird's HTTP errors by status, anything
    /// else a 500 that says nothing internal (its detail is logged).
    static func from(_ error: any Error, request: Request, context: some RequestContext) -> Problem {
        switch error {
        case let problem as Problem:
            return problem
        case let error as TesseraError:
            return Problem(error, instance: request.uri.path)
        case let error as HTTPError:
            return Problem(Self.clientError(for: error), instance: request.uri.path)
        default:
            context.logger.error("Unhandled error", metadata: ["error": "\(String(reflecting: error))"])
            return Problem(
                TesseraError(.internalError, "The server failed to handle the request (request id \(context.id))."),
                instance: request.uri.path
            )
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
