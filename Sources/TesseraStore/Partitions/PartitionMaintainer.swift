import Logging
import PostgresNIO
import ServiceLifecycle

/// Stands in for pg_cron: partition maintenance (`partition_maintenance()`, migration 0023: by
/// pg_partman when installed, else the months ahead by Tessera) runs hourly in the database when
/// pg_cron schedules it. A server checks every `interval` when it last ran (`maintenance_runs`);
/// when that is longer ago than `staleAfter`, or never, pg_cron is absent or stopped, and the one
/// server that takes the `partitions` lease runs it. A `Service` of `serve`.
package struct PartitionMaintainer: Service {
    let client: PostgresClient
    let interval: Duration
    let staleAfter: Duration
    let months: Int
    let lease: MaintenanceLease
    let logger: Logger

    package init(
        client: PostgresClient,
        interval: Duration = .seconds(900),
        staleAfter: Duration = .seconds(5_400),
        months: Int = Migrator.partitionMonthsAhead,
        logger: Logger
    ) {
        self.client = client
        self.interval = interval
        self.staleAfter = staleAfter
        self.months = months
        self.lease = MaintenanceLease(client: client, job: "partitions", logger: logger)
        self.logger = logger
    }

    package func run() async throws {
        while !Task.isCancelledOrShuttingDown {
            do {
                if let outcome = try await self.runIfDue() {
                    self.logger.info("Partition maintenance ran here (no recent run by pg_cron)", metadata: ["partitions.by": "\(outcome)"])
                }
            } catch {
                self.logger.error("Partition maintenance failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            let interval = self.interval
            _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// Runs the maintenance when no run is recorded within `staleAfter` and this server holds the
    /// lease; returns how it ran (`pg_partman` or `tessera`), nil when it was not due here.
    package func runIfDue() async throws -> String? {
        let stale = Double(self.staleAfter.components.seconds)
        let due = try await self.client.liveQuery(
            """
            SELECT NOT EXISTS (SELECT 1 FROM maintenance_runs
                                WHERE job = 'partitions' AND ran_at > clock_timestamp() - make_interval(secs => \(stale)::double precision))
            """,
            logger: self.logger
        )
        var isDue = false
        for try await value in due.decode(Bool.self) { isDue = value }
        guard isDue else { return nil }
        guard try await self.lease.take(for: self.interval * 2) else { return nil }
        let rows = try await self.client.liveQuery("SELECT partition_maintenance(\(self.months)::integer)", logger: self.logger)
        var outcome = ""
        for try await value in rows.decode(String.self) { outcome = value }
        return outcome
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
