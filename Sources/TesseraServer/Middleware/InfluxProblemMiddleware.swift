import HTTPTypes
import Hummingbird
import TesseraCore

/// The InfluxDB endpoints' errors are the same problems as everywhere (same type,
/// status and code, through `Problem.from` and `ProblemMiddleware`), rendered the way
/// Influx clients read them: the message in an `error` member and in the
/// `X-Influxdb-Error` header, with `X-Influxdb-Version`.
struct InfluxProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            var problem = Problem.from(error, request: request, context: context)
            let message = problem.influxError ?? problem.error.detail
            problem.influxError = message
            problem.headers[InfluxController.versionHeader] = InfluxController.version
            problem.headers[InfluxController.errorHeader] = message
            throw problem
        }
    }
}
