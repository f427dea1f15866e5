import Logging
import PostgresNIO
import TesseraCore

/// The rows PostgreSQL refused (migration 0010): set aside by a flush (typed, as they
/// were staged) or at the staging write (a request's rows as COPY text). An operator
/// lists them, stores them again once the cause is fixed, or drops them.
package struct Quarantine: Sendable {
    /// The rows of one batch and tenant set aside for one reason.
    package struct Group: Sendable, Equatable {
        package var tenantID: Int64
        package var batchID: Int64
        package var points: Int
        package var sqlState: String
        package var reason: String
        /// RFC 3339, UTC.
        package var quarantinedAt: String
    }

    /// Which quarantined rows an operation takes; nil fields take any.
    package struct Selection: Sendable {
        package var tenantID: Int64?
        package var batchID: Int64?

        package init(tenantID: Int64? = nil, batchID: Int64? = nil) {
            self.tenantID = tenantID
            self.batchID = batchID
        }
    }

    let client: PostgresClient
    let logger: Logger
    let types = StagedPoints.TypeCache()

    package init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    package func list(_ selection: Selection = .init()) async throws -> [Group] {
        let rows = try await self.client.liveQuery(
            """
            SELECT tenant_id, batch_id, sum(coalesce(copy_rows, 1))::bigint, sqlstate, min(reason),
                   to_char(min(quarantined_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
              FROM ingest_quarantine
             WHERE (\(selection.tenantID)::bigint IS NULL OR tenant_id = \(selection.tenantID))
               AND (\(selection.batchID)::bigint IS NULL OR batch_id = \(selection.batchID))
             GROUP BY tenant_id, batch_id, sqlstate
             ORDER BY min(quarantined_at), tenant_id, batch_id
            """,
            logger: self.logger
        )
        var groups = [Group]()
        for try await (tenant, batch, points, state, reason, at) in rows.decode((Int64, Int64, Int64, String, String, String).self) {
            groups.append(Group(tenantID: tenant, batchID: batch, points: Int(points), sqlState: state, reason: reason, quarantinedAt: at))
        }
        return groups
    }

    /// Stores the selected rows again, in one transaction with a synchronous commit: each
    /// batch is staged and moved into the time series and the projection (as a `safe`
    /// write is), then removed from the quarantine. Returns the points stored; throws,
    /// storing none, when PostgreSQL still refuses them.
    package func replay(_ selection: Selection = .init()) async throws -> Int {
        try await self.client.withLiveTransaction(logger: self.logger) { connection in
            try await connection.query("SET LOCAL synchronous_commit TO on", logger: self.logger)
            try await connection.query("SELECT pg_advisory_xact_lock_shared(\(AdvisoryLock.deletion))", logger: self.logger)
            // A request's COPY text is staged again as of when it was quarantined (typed rows
            // keep their staging time): the flush drops it if its entity or range was erased since.
            var batches = [(Int64, ByteBuffer?, Int64)]()
            let selected = try await connection.query(
                """
                SELECT DISTINCT ON (batch_id, copy_data IS NULL) batch_id, copy_data,
                       (extract(epoch FROM quarantined_at) * 1000000)::bigint
                  FROM ingest_quarantine
                 WHERE (\(selection.tenantID)::bigint IS NULL OR tenant_id = \(selection.tenantID))
                   AND (\(selection.batchID)::bigint IS NULL OR batch_id = \(selection.batchID))
                 ORDER BY batch_id, copy_data IS NULL
                """,
                logger: self.logger
            )
            for try await (batch, data, at) in selected.decode((Int64, ByteBuffer?, Int64).self) { batches.append((batch, data, at)) }
            // The months of typed rows may have lost their partitions meanwhile.
            try await connection.query(
                """
                SELECT ensure_ts_partitions(m, 1) FROM (
                    SELECT DISTINCT date_trunc('month', ts AT TIME ZONE 'UTC')::date AS m FROM ingest_quarantine
                     WHERE copy_data IS NULL
                       AND (\(selection.tenantID)::bigint IS NULL OR tenant_id = \(selection.tenantID))
                       AND (\(selection.batchID)::bigint IS NULL OR batch_id = \(selection.batchID))) AS months
                """,
                logger: self.logger
            )
            var stored = 0
            for (batch, data, quarantinedAt) in batches {
                // A new batch id: the old one may be recorded as flushed already.
                var newBatch: Int64 = 0
                for try await id in try await connection.query("SELECT nextval('ingest_batch_seq')", logger: self.logger).decode(Int64.self) {
                    newBatch = id
                }
                if let data {
                    let text = Self.rebatched(Array(data.readableBytesView), to: newBatch, stagedAt: quarantinedAt)
                    try await StagedPoints.insert(ByteBuffer(bytes: text), on: connection, cache: self.types, logger: self.logger)
                } else {
                    try await connection.query(
                        """
                        INSERT INTO entity_values_ingest (tenant_id, entity_id, attribute_id, value_int, value_decimal, value_text,
                                                          value_bool, value_ts, value_json, ts, ingested_at, batch_id)
                        SELECT tenant_id, entity_id, attribute_id, value_int, value_decimal, value_text,
                               value_bool, value_ts, value_json, ts, ingested_at, \(newBatch)
                          FROM ingest_quarantine
                         WHERE batch_id = \(batch) AND copy_data IS NULL
                           AND (\(selection.tenantID)::bigint IS NULL OR tenant_id = \(selection.tenantID))
                        """,
                        logger: self.logger
                    )
                }
                for try await moved in try await connection.query("SELECT moved_rows FROM flush_staged(\(newBatch), NULL)", logger: self.logger).decode(
                    Int64.self
                ) {
                    stored += Int(moved)
                }
                try await connection.query(
                    """
                    DELETE FROM ingest_quarantine
                     WHERE batch_id = \(batch) AND (copy_data IS NULL) = \(data == nil)
                       AND (\(selection.tenantID)::bigint IS NULL OR tenant_id = \(selection.tenantID))
                    """,
                    logger: self.logger
                )
            }
            return stored
        }
    }

    /// Deletes the selected rows for good; returns the points dropped.
    package func drop(_ selection: Selection) async throws -> Int {
        let rows = try await self.client.liveQuery(
            """
            WITH dropped AS (
                DELETE FROM ingest_quarantine
                 WHERE (\(selection.tenantID)::bigint IS NULL OR tenant_id = \(selection.tenantID))
                   AND (\(selection.batchID)::bigint IS NULL OR batch_id = \(selection.batchID))
                RETURNING coalesce(copy_rows, 1) AS points)
            SELECT coalesce(sum(points), 0)::bigint FROM dropped
            """,
            logger: self.logger
        )
        for try await count in rows.decode(Int64.self) { return Int(count) }
        return 0
    }

    /// COPY text rows with their last column (the batch id) replaced, and a column added:
    /// the staging time (`ingested_at`), `stagedAt` µs.
    static func rebatched(_ data: [UInt8], to batch: Int64, stagedAt: Int64) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(data.count + 64)
        let batchText = Array((String(batch) + "\t" + Timestamps.format(micros: stagedAt)).utf8)
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            guard let lastTab = line.lastIndex(of: UInt8(ascii: "\t")) else { continue }
            out.append(contentsOf: line[line.startIndex...lastTab])
            out.append(contentsOf: batchText)
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }
}
