import HTTPTypes
import Hummingbird
import PostgresNIO
import TesseraStore

/// Adds `X-Tessera-Commit-LSN` to successful writes (every method but GET/HEAD):
/// the primary's WAL position after the write committed, for read-your-writes.
struct CommitPositionMiddleware: RouterMiddleware {
    typealias Context = TesseraRequestContext
    let primary: PostgresClient

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        guard request.method != .get, request.method != .head, (200..<300).contains(response.status.code) else { return response }
        if let position = try? await CommitPosition.current(self.primary, logger: context.logger) {
            response.headers[ReadOptions.commitPositionHeader] = position
        }
        return response
    }
}
