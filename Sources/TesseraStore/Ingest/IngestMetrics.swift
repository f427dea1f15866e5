import Metrics

/// The write path's metrics, through swift-metrics (Prometheus in `serve`): every
/// `tessera_ingest_*` series is defined here and nowhere else.
package struct IngestMetrics: Sendable {
    private let copyDuration = Timer(label: "tessera_ingest_copy_duration_seconds")
    private let flushDuration = Timer(label: "tessera_ingest_flush_duration_seconds")
    private let batchPoints = Recorder(label: "tessera_ingest_batch_points")
    private let flushedRows = Counter(label: "tessera_ingest_flushed_rows_total")
    private let stagingBacklog = Gauge(label: "tessera_ingest_staging_backlog_rows")
    private let replayedBatches = Counter(label: "tessera_ingest_replayed_batches_total")
    private let quarantinedPoints = Counter(label: "tessera_ingest_points_quarantined_total")

    func staged(points: Int, duration: Duration, backlog: Int) {
        self.copyDuration.recordNanoseconds(Int64(duration / .nanoseconds(1)))
        self.batchPoints.record(points)
        self.stagingBacklog.record(backlog)
    }

    func flushed(rows: Int, duration: Duration) {
        self.flushDuration.recordNanoseconds(Int64(duration / .nanoseconds(1)))
        self.flushedRows.increment(by: rows)
    }

    func backlog(_ rows: Int) {
        self.stagingBacklog.record(rows)
    }

    /// Points PostgreSQL refused at the staging COPY or the flush, set aside in `ingest_quarantine`.
    func quarantined(_ points: Int) {
        self.quarantinedPoints.increment(by: points)
    }

    func replayed() {
        self.replayedBatches.increment()
    }

    /// Points refused, by reason: a rejection code of the request (`invalid_value`, …) or
    /// the pipeline's (`rate_limited`, `saturated`, `staging_failed`).
    package static func rejected(_ points: Int, reason: String) {
        Counter(label: "tessera_ingest_points_rejected_total", dimensions: [("reason", reason)]).increment(by: points)
    }

    /// Points accepted, by durability (`fast`, `safe`).
    package static func accepted(_ points: Int, durability: String) {
        (durability == "safe" ? Self.acceptedSafe : Self.acceptedFast).increment(by: points)
    }

    private static let acceptedFast = Counter(label: "tessera_ingest_points_accepted_total", dimensions: [("durability", "fast")])
    private static let acceptedSafe = Counter(label: "tessera_ingest_points_accepted_total", dimensions: [("durability", "safe")])
}
