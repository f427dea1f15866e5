import Metrics

/// The cache's metrics, through swift-metrics (Prometheus in `serve`).
struct CacheMetrics: Sendable {
    private let redisDuration = Timer(label: "tessera_cache_redis_duration_seconds")
    private let breakerOpen = Gauge(label: "tessera_cache_breaker_open")

    func hit(_ kind: String) {
        Counter(label: "tessera_cache_hits_total", dimensions: [("kind", kind)]).increment()
    }

    func miss(_ kind: String) {
        Counter(label: "tessera_cache_misses_total", dimensions: [("kind", kind)]).increment()
    }

    func error(_ kind: String) {
        Counter(label: "tessera_cache_errors_total", dimensions: [("kind", kind)]).increment()
    }

    func breaker(open: Bool) {
        self.breakerOpen.record(open ? 1 : 0)
    }

    func redisTime(_ duration: Duration) {
        self.redisDuration.recordNanoseconds(Int64(duration / .nanoseconds(1)))
    }
}
