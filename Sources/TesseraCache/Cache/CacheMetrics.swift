import Metrics

/// The cache's metrics, through swift-metrics into the factory the server gives, with
/// their HELP text in `help`.
package struct CacheMetrics: Sendable {
    package static let help: [String: String] = [
        "tessera_cache_redis_duration_seconds": "Time of one Redis command of the read cache.",
        "tessera_cache_breaker_open": "1 while the cache's breaker is open and reads skip Redis (Redis failing or slow), else 0.",
        "tessera_cache_hits_total": "Reads answered from Redis, by kind (entity, filter, aggregate, …).",
        "tessera_cache_misses_total": "Reads Redis could not answer, by kind, that went to the database.",
        "tessera_cache_errors_total": "Redis commands of the cache that failed, by error kind.",
    ]

    let factory: any MetricsFactory
    private let redisDuration: Timer
    private let breakerOpen: Gauge

    package init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        self.redisDuration = Timer(label: "tessera_cache_redis_duration_seconds", factory: factory)
        self.breakerOpen = Gauge(label: "tessera_cache_breaker_open", factory: factory)
        self.breakerOpen.record(0)
        // Series a dashboard or an alert reads exist from the start, at 0.
        for kind in ["entity", "filter", "aggregate"] {
            Counter(label: "tessera_cache_hits_total", dimensions: [("kind", kind)], factory: factory).increment(by: 0)
            Counter(label: "tessera_cache_misses_total", dimensions: [("kind", kind)], factory: factory).increment(by: 0)
        }
        for consistency in ["eventual", "analytics"] {
            Counter(label: "tessera_reads_total", dimensions: [("consistency", consistency), ("source", "cache")], factory: factory).increment(by: 0)
        }
        for kind in RedisError.Kind.allCases {
            Counter(label: "tessera_cache_errors_total", dimensions: [("kind", kind.rawValue)], factory: factory).increment(by: 0)
        }
    }

    func hit(_ kind: String) {
        Counter(label: "tessera_cache_hits_total", dimensions: [("kind", kind)], factory: self.factory).increment()
    }

    func miss(_ kind: String) {
        Counter(label: "tessera_cache_misses_total", dimensions: [("kind", kind)], factory: self.factory).increment()
    }

    /// A read answered from the cache (`tessera_reads_total`, with the router's reads).
    func served(consistency: String) {
        Counter(label: "tessera_reads_total", dimensions: [("consistency", consistency), ("source", "cache")], factory: self.factory).increment()
    }

    func error(_ kind: String) {
        Counter(label: "tessera_cache_errors_total", dimensions: [("kind", kind)], factory: self.factory).increment()
    }

    func breaker(open: Bool) {
        self.breakerOpen.record(open ? 1 : 0)
    }

    func redisTime(_ duration: Duration) {
        self.redisDuration.recordNanoseconds(Int64(duration / .nanoseconds(1)))
    }
}
