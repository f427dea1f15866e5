import Metrics

/// The write path's metrics, through swift-metrics into the factory the server gives
/// (its Prometheus registry in `serve`): every `tessera_ingest_*` series is defined here
/// and nowhere else, with its HELP text in `help`.
package struct IngestMetrics: Sendable {
    package static let help: [String: String] = [
        "tessera_ingest_copy_duration_seconds": "Time of one staging write of a batch of points.",
        "tessera_ingest_flush_duration_seconds": "Time of one flush that moved points from staging into the series.",
        "tessera_ingest_batch_points": "Points in one staged batch.",
        "tessera_ingest_flushed_rows_total": "Staged rows this server's flusher moved into the series.",
        "tessera_ingest_flush_failures_total": "Flushes that failed (each is retried after a back-off).",
        "tessera_ingest_staging_backlog_rows": "Points this server staged that are not confirmed flushed yet.",
        "tessera_ingest_flush_lag_seconds": "Age of the oldest point this server staged that is not confirmed flushed yet; 0 when none.",
        "tessera_ingest_queue_depth_points": "Points admitted and waiting for a staging writer.",
        "tessera_ingest_replayed_batches_total": "Acknowledged batches the database lost and this server staged again.",
        "tessera_ingest_points_quarantined_total": "Points PostgreSQL refused at the staging write or the flush, set aside in ingest_quarantine.",
        "tessera_ingest_points_rejected_total": "Points refused, by reason: a rejection code of the request, or rate_limited, saturated, staging_failed.",
        "tessera_ingest_points_accepted_total": "Points accepted, by durability (fast: staged; safe: stored before the answer).",
    ]

    let factory: any MetricsFactory
    private let copyDuration: Timer
    private let flushDuration: Timer
    private let batchPoints: Recorder
    private let flushedRows: Counter
    private let flushFailures: Counter
    private let stagingBacklog: Gauge
    private let flushLag: Gauge
    private let queueDepth: Gauge
    private let replayedBatches: Counter
    private let quarantinedPoints: Counter
    private let acceptedFast: Counter
    private let acceptedSafe: Counter

    package init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        self.copyDuration = Timer(label: "tessera_ingest_copy_duration_seconds", factory: factory)
        self.flushDuration = Timer(label: "tessera_ingest_flush_duration_seconds", factory: factory)
        self.batchPoints = Recorder(label: "tessera_ingest_batch_points", factory: factory)
        self.flushedRows = Counter(label: "tessera_ingest_flushed_rows_total", factory: factory)
        self.flushFailures = Counter(label: "tessera_ingest_flush_failures_total", factory: factory)
        self.stagingBacklog = Gauge(label: "tessera_ingest_staging_backlog_rows", factory: factory)
        self.flushLag = Gauge(label: "tessera_ingest_flush_lag_seconds", factory: factory)
        self.queueDepth = Gauge(label: "tessera_ingest_queue_depth_points", factory: factory)
        self.replayedBatches = Counter(label: "tessera_ingest_replayed_batches_total", factory: factory)
        self.quarantinedPoints = Counter(label: "tessera_ingest_points_quarantined_total", factory: factory)
        self.acceptedFast = Counter(label: "tessera_ingest_points_accepted_total", dimensions: [("durability", "fast")], factory: factory)
        self.acceptedSafe = Counter(label: "tessera_ingest_points_accepted_total", dimensions: [("durability", "safe")], factory: factory)
        // Series an alert reads exist from the start, at 0.
        self.stagingBacklog.record(0)
        self.flushLag.record(0)
        self.queueDepth.record(0)
        for reason in ["rate_limited", "saturated", "staging_failed"] { self.rejected(0, reason: reason) }
    }

    func staged(points: Int, duration: Duration, backlog: Int) {
        self.copyDuration.recordNanoseconds(Int64(duration / .nanoseconds(1)))
        self.batchPoints.record(points)
        self.stagingBacklog.record(backlog)
    }

    func flushed(rows: Int, duration: Duration) {
        self.flushDuration.recordNanoseconds(Int64(duration / .nanoseconds(1)))
        self.flushedRows.increment(by: rows)
    }

    func flushFailed() {
        self.flushFailures.increment()
    }

    func backlog(_ rows: Int) {
        self.stagingBacklog.record(rows)
    }

    /// The gauges that age between events: the oldest unflushed point and the queue.
    func pending(oldestUnflushed: Duration?, queuedPoints: Int) {
        self.flushLag.record(oldestUnflushed.map { Double($0 / .milliseconds(1)) / 1_000 } ?? 0)
        self.queueDepth.record(queuedPoints)
    }

    /// Points PostgreSQL refused at the staging write or the flush, set aside in `ingest_quarantine`.
    func quarantined(_ points: Int) {
        self.quarantinedPoints.increment(by: points)
    }

    func replayed() {
        self.replayedBatches.increment()
    }

    /// Points refused, by reason: a rejection code of the request (`invalid_value`, …) or
    /// the pipeline's (`rate_limited`, `saturated`, `staging_failed`). Reasons are a fixed set of codes.
    package func rejected(_ points: Int, reason: String) {
        Counter(label: "tessera_ingest_points_rejected_total", dimensions: [("reason", reason)], factory: self.factory).increment(by: points)
    }

    /// Requests refused before their body was read (`IngestPipeline.precheck`), by reason
    /// (`rate_limited`, `saturated`, `shutting_down`): their points were never counted.
    package func refusedBeforeReading(reason: String) {
        Counter(label: "tessera_ingest_requests_refused_early_total", dimensions: [("reason", reason)], factory: self.factory).increment()
    }

    /// Points accepted, by durability (`fast`, `safe`).
    package func accepted(_ points: Int, durability: String) {
        (durability == "safe" ? self.acceptedSafe : self.acceptedFast).increment(by: points)
    }
}
