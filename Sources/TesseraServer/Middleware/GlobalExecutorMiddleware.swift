import Hummingbird

/// Runs the rest of a request on Swift's global concurrent executor instead of its
/// connection's event loop (see `EventLoopPinnedChildChannel`). For handlers that
/// spend long stretches on the CPU (decoding an ingest body, rendering a series page
/// or an aggregate): on the event loop they would hold up every other connection of
/// that loop, the database connections the flusher writes through among them, and
/// the Redis connections whose command timeouts run there.
struct GlobalExecutorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await withTaskExecutorPreference(globalConcurrentExecutor) {
            try await next(request, context)
        }
    }
}
