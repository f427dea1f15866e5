import Logging
import PostgresNIO
import TesseraCore

/// The `safe` write path (per request, and always for `critical` attributes):
/// the rows are staged and moved into the time series and the projection in one
/// transaction with a synchronous commit, before the response.
package struct SafeWriter: Sendable {
    let primary: PostgresClient
    let partitions: PartitionGuard
    let logger: Logger

    package init(primary: PostgresClient, partitions: PartitionGuard, logger: Logger) {
        self.primary = primary
        self.partitions = partitions
        self.logger = logger
    }

    package func write(_ rows: [IngestRow]) async throws(TesseraError) {
        guard !rows.isEmpty else { return }
        let sorted = rows.sorted(by: IngestPipeline.keyOrder)
        do {
            try await self.partitions.ensure(for: sorted)
            try await self.primary.withTransaction(logger: self.logger) { connection in
                try await connection.query("SET LOCAL synchronous_commit TO on", logger: self.logger)
                var batchID: Int64 = 0
                for try await id in try await connection.query("SELECT nextval('ingest_batch_seq')", logger: self.logger).decode(Int64.self) {
                    batchID = id
                }
                let data = StagingEncoder.encode(sorted, batchID: batchID)
                try await connection.copyFrom(table: "entity_values_ingest", columns: StagingEncoder.columns, logger: self.logger) { writer in
                    try await writer.write(data)
                }
                try await connection.query("SELECT * FROM move_staged(\(batchID))", logger: self.logger)
            }
        } catch {
            self.logger.error("Safe write failed", metadata: ["points": "\(rows.count)", "error": "\(String(reflecting: error))"])
            throw TesseraError(.unavailable, "The database did not commit the points; they were not stored. Retry.")
        }
    }
}
