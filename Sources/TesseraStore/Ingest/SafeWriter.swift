import Logging
import PostgresNIO
import TesseraCore

/// The `safe` write path (per request, and always for `critical` attributes):
/// the rows are staged and moved into the time series and the projection in one
/// transaction with a synchronous commit, before the response.
package struct SafeWriter: Sendable {
    let primary: PostgresClient
    let partitions: PartitionGuard
    let feed: ProjectionFeed
    let logger: Logger
    /// How long a write whose transaction failed because the primary went away (not for its
    /// data) is tried again before its 503: through a switchover or a failover. Writing the
    /// same points again is harmless (a point's identity keeps one value), so a commit whose
    /// answer was lost is no double.
    let patience: Duration
    let types = StagedPoints.TypeCache()

    package init(
        primary: PostgresClient,
        partitions: PartitionGuard,
        feed: ProjectionFeed = ProjectionFeed(),
        patience: Duration = .seconds(20),
        logger: Logger
    ) {
        self.patience = patience
        self.primary = primary
        self.partitions = partitions
        self.feed = feed
        self.logger = logger
    }

    package func write(_ rows: [IngestRow]) async throws(TesseraError) {
        guard !rows.isEmpty else { return }
        let sorted = StagingEncoder.prepare(rows)
        let giveUp = ContinuousClock.now + self.patience
        var pause = Duration.milliseconds(100)
        while true {
            do {
                try await self.writeOnce(sorted)
                return
            } catch  where error.code == .unavailable && ContinuousClock.now < giveUp && !Task.isCancelled {
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(1))
            }
        }
    }

    private func writeOnce(_ sorted: [IngestRow]) async throws(TesseraError) {
        do {
            try await self.partitions.ensure(for: sorted)
            let change = try await self.primary.withLiveTransaction(logger: self.logger) { connection -> ProjectionChange? in
                try await connection.query(StagingSQL.synchronousCommit, logger: self.logger)
                // Not while an entity is being deleted (migration 0006).
                try await connection.query(StagingSQL.sharedDeletionLock, logger: self.logger)
                var batchID: Int64 = 0
                for try await id in try await connection.query(StagingSQL.nextBatchID, logger: self.logger).decode(Int64.self) {
                    batchID = id
                }
                let data = StagingEncoder.encode(sorted, batchID: batchID)
                try await StagedPoints.insert(data, on: connection, cache: self.types, logger: self.logger)
                let rows = try await connection.query(StagingSQL.flushStaged(batchID), logger: self.logger)
                for try await (tenants, entityTenants, entities, versions, at) in rows.decode(([Int64], [Int64], [Int64], [Int64], Int64).self) {
                    return ProjectionFeed.change(tenants: tenants, entityTenants: entityTenants, entities: entities, versions: versions, atMicros: at)
                }
                return nil
            }
            if let change { await self.feed.publish(change) }
        } catch {
            self.logger.error("Safe write failed", metadata: ["points": "\(sorted.count)", "error": "\(String(reflecting: error))"])
            if let state = DatabaseErrors.sqlState(of: error), DatabaseErrors.isDataError(state) {
                // The request's own values (nothing else is in this transaction): a retry
                // would fail the same way.
                throw TesseraError(.invalidValue, "The database refused a value of these points (SQLSTATE \(state)); none of them was stored.")
            }
            throw TesseraError(.unavailable, "The database did not commit the points; they were not stored. Retry.")
        }
    }
}
