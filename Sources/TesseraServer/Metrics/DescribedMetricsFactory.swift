import Metrics
import Prometheus

/// swift-metrics into one server's Prometheus registry, with each family's HELP text
/// from `help` (the modules' own tables: `IngestMetrics.help`, `CacheMetrics.help`, …).
/// Prometheus's own factory gives every family an empty HELP, which `promtool check
/// metrics` flags; a name missing from `help` gets none here too, and the test that runs
/// promtool on `/metrics` fails.
package struct DescribedMetricsFactory: MetricsFactory {
    package let registry: PrometheusCollectorRegistry
    let help: [String: String]

    /// Latency buckets of every timer: 0.5 ms to 10 s.
    static let durationBuckets: [Duration] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10].map {
        .nanoseconds(Int64($0 * 1e9))
    }
    /// Sizes (points in a batch): 1 to 100,000.
    static let valueBuckets: [Double] = [1, 10, 100, 1_000, 5_000, 10_000, 50_000, 100_000]

    package init(registry: PrometheusCollectorRegistry, help: [String: String]) {
        self.registry = registry
        self.help = help
    }

    private func text(_ label: String) -> String { self.help[label] ?? "" }

    package func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        self.registry.makeCounter(name: label, labels: dimensions, help: self.text(label))
    }

    package func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        self.registry.makeCounter(name: label, labels: dimensions, help: self.text(label))
    }

    package func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return self.registry.makeGauge(name: label, labels: dimensions, help: self.text(label)) }
        return self.registry.makeValueHistogram(name: label, labels: dimensions, buckets: Self.valueBuckets, help: self.text(label))
    }

    package func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        self.registry.makeGauge(name: label, labels: dimensions, help: self.text(label))
    }

    package func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        self.registry.makeDurationHistogram(name: label, labels: dimensions, buckets: Self.durationBuckets, help: self.text(label))
    }

    package func destroyCounter(_ handler: any CounterHandler) {
        if let counter = handler as? Prometheus.Counter { self.registry.unregisterCounter(counter) }
    }

    package func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let counter = handler as? Prometheus.Counter { self.registry.unregisterCounter(counter) }
    }

    package func destroyRecorder(_ handler: any RecorderHandler) {
        switch handler {
        case let gauge as Prometheus.Gauge: self.registry.unregisterGauge(gauge)
        case let histogram as Histogram<Double>: self.registry.unregisterValueHistogram(histogram)
        default: break
        }
    }

    package func destroyMeter(_ handler: any MeterHandler) {
        if let gauge = handler as? Prometheus.Gauge { self.registry.unregisterGauge(gauge) }
    }

    package func destroyTimer(_ handler: any TimerHandler) {
        if let histogram = handler as? Histogram<Duration> { self.registry.unregisterDurationHistogram(histogram) }
    }
}
