import Logging
import Metrics
import Synchronization

/// Counts one PostgresClient pool's open connections. PostgresNIO 1.x keeps its pool's
/// observability delegate internal and reports a connection being made, failing and
/// closing as messages of the pool's background logger, with the connection's id (it
/// reports no leases): `logger(wrapping:)` makes that logger, which sees those events and
/// passes every message on to the server's own handler at its level. Which connections
/// are busy the database shows (`pg_stat_activity` by `application_name`, which names
/// the pool); reads in flight and waiting per read pool the router counts.
package final class PoolObserver: Sendable {
    private let open: Gauge
    private let connections = Mutex(Set<String>())

    package init(pool: String, factory: any MetricsFactory) {
        self.open = Gauge(label: "tessera_db_pool_connections_open", dimensions: [("pool", pool)], factory: factory)
        self.open.record(0)
    }

    /// A logger for the pool (its `backgroundLogger`): `base`, plus the pool's events.
    package func logger(wrapping base: Logger) -> Logger {
        var logger = base
        logger.handler = ObservingLogHandler(inner: base.handler, observer: self)
        return logger
    }

    func observe(_ message: String, connection: String) {
        // Recorded under the lock: two events at once cannot leave the older count last.
        self.connections.withLock { connections in
            switch message {
            case "Creating new connection": connections.insert(connection)
            case "Connection creation failed", "Connection closed": connections.remove(connection)
            default: break
            }
            self.open.record(connections.count)
        }
    }

    /// Connections open or being opened now.
    package var openConnections: Int { self.connections.withLock { $0.count } }
}

/// Sees every message from debug up (the pool's events are debug messages), and hands on
/// to `inner` those at or above its level.
struct ObservingLogHandler: LogHandler {
    var inner: any LogHandler
    let observer: PoolObserver

    var logLevel: Logger.Level {
        get { min(self.inner.logLevel, .debug) }
        set { self.inner.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { self.inner.metadata }
        set { self.inner.metadata = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { self.inner.metadataProvider }
        set { self.inner.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.inner[metadataKey: key] }
        set { self.inner[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        if event.level <= .info, let id = event.metadata?["psql_connection_id"] {
            self.observer.observe(event.message.description, connection: id.description)
        }
        if event.level >= self.inner.logLevel { self.inner.log(event: event) }
    }
}
