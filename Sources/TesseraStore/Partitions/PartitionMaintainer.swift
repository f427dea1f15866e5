import Logging
import PostgresNIO
import ServiceLifecycle

/// Keeps monthly partitions of `entity_values_ts` made ahead: the current month and
/// the next three. Runs at start and then hourly, as a `Service` of `serve`.
package struct PartitionMaintainer: Service {
    let client: PostgresClient
    let interval: Duration
    let months: Int
    let logger: Logger

    package init(client: PostgresClient, interval: Duration = .seconds(3600), months: Int = Migrator.partitionMonthsAhead, logger: Logger) {
        self.client = client
        self.interval = interval
        self.months = months
        self.logger = logger
    }

    package func run() async throws {
        while !Task.isCancelledOrShuttingDown {
            do {
                let made = try await self.client.withConnection { connection in
                    try await Self.ensurePartitions(on: connection, months: self.months, logger: self.logger)
                }
                if made > 0 {
                    self.logger.info("Created partitions ahead", metadata: ["partitions.created": "\(made)"])
                }
            } catch {
                self.logger.error("Partition maintenance failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            let interval = self.interval
            _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// Makes any missing partition from the current month (UTC) for `months` months.
    package static func ensurePartitions(on connection: PostgresConnection, months: Int, logger: Logger) async throws -> Int {
        let rows = try await connection.query(
            "SELECT ensure_ts_partitions(date_trunc('month', now() AT TIME ZONE 'UTC')::date, \(months)::integer)",
            logger: logger
        )
        var made = 0
        for try await count in rows.decode(Int.self) {
            made = count
        }
        return made
    }
}

extension Task where Success == Never, Failure == Never {
    static var isCancelledOrShuttingDown: Bool {
        Task.isCancelled || Task.isShuttingDownGracefully
    }
}
