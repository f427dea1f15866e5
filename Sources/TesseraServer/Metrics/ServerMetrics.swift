import Metrics
import TesseraCache
import TesseraCore
import TesseraRouting
import TesseraStore

/// The server's own series (build info, pools), and the HELP text of every module's
/// metrics for `DescribedMetricsFactory`.
package struct ServerMetrics: Sendable {
    package static let help: [String: String] = [
        "tessera_build_info": "1, labelled with this build's version and database schema version.",
        "tessera_db_pool_connections_open": "Connections of the pool open or being opened now (its application_name in pg_stat_activity is tessera/<pool>).",
    ]

    /// Every metric family's HELP text, by name.
    package static let allHelp: [String: String] = [
        Self.help, IngestMetrics.help, CacheMetrics.help, RouterMetrics.help, AuditTrail.metricHelp,
    ].reduce(into: [:]) { all, table in all.merge(table) { first, _ in first } }

    package init(factory: any MetricsFactory, schemaVersion: Int) {
        Gauge(
            label: "tessera_build_info",
            dimensions: [("version", TesseraVersion.current), ("schema_version", String(schemaVersion))],
            factory: factory
        ).record(1)
    }
}
