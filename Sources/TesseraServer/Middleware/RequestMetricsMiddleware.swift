import Hummingbird
import Prometheus

/// Counts requests and records their latency per route template, method and status,
/// into the server's own Prometheus registry (no global metrics bootstrap needed).
package struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let registry: PrometheusCollectorRegistry

    static var buckets: [Duration] {
        [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10].map { .milliseconds($0 * 1000) }
    }

    package init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            self.record(request, context: context, status: response.status.code, since: start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            self.record(request, context: context, status: status, since: start)
            throw error
        }
    }

    private func record(_ request: Request, context: Context, status: Int, since start: ContinuousClock.Instant) {
        let labels = [
            ("http_route", context.endpointPath ?? "NotFound"),
            ("http_request_method", request.method.rawValue),
            ("http_response_status_code", String(status)),
        ]
        self.registry.makeCounter(descriptor: Self.requests, labels: labels).increment()
        self.registry.makeDurationHistogram(descriptor: Self.duration, labels: labels, buckets: Self.buckets)
            .record(ContinuousClock.now - start)
    }

    /// `http_server_requests_total`
    static var requests: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "http",
            subsystem: "server",
            metricName: "requests",
            unitName: "total",
            helpText: "HTTP requests answered, by route template, method and status."
        )
    }

    /// `http_server_request_duration_seconds`
    static var duration: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "http",
            subsystem: "server",
            metricName: "request_duration",
            unitName: "seconds",
            helpText: "Time from a request's head to its response, by route template, method and status."
        )
    }
}
