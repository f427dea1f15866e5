import PostgresNIO

/// Every statement of the write path (the `fast` pipeline and the `safe` writer), in
/// one place. The functions they call are in `Schema/Functions/` (one file each).
enum StagingSQL {
    /// A block of 64 batch ids.
    static let nextBatchIDs: PostgresQuery = "SELECT nextval('ingest_batch_seq') FROM generate_series(1, 64)"

    /// One batch id (the safe writer's, inside its transaction).
    static let nextBatchID: PostgresQuery = "SELECT nextval('ingest_batch_seq')"

    /// Moves everything staged into the time series, the projection and the rollups:
    /// one row per move that committed (several when a data error made it move each
    /// batch and tenant on its own, quarantining those that failed).
    static let stageFlush: PostgresQuery = "SELECT moved_rows, quarantined_rows, \(unescaped: ProjectionFeed.changeColumns) FROM stage_flush()"

    /// One part of a flush in several sessions: the given batches, each listed once for
    /// each tenant it holds, of the tenants no other flush is moving.
    static func stageFlushPart(_ part: FlushSplit.Part) -> PostgresQuery {
        """
        SELECT moved_rows, quarantined_rows, \(unescaped: ProjectionFeed.changeColumns)
          FROM stage_flush_part(\(part.batchIDs)::bigint[], \(part.tenantIDs)::bigint[])
        """
    }

    /// The staged (batch, tenant) pairs and their rows, which a flush in several sessions splits.
    static let stagedBatches: PostgresQuery = "SELECT batch_id, tenant_id, staged_rows FROM staged_batches()"

    /// Moves one batch staged in this transaction (the safe writer's).
    static func flushStaged(_ batchID: Int64) -> PostgresQuery {
        "SELECT \(unescaped: ProjectionFeed.changeColumns) FROM flush_staged(\(batchID), NULL)"
    }

    /// A batch's rows into staging (`StagedPoints`): each text field read by the column type's
    /// input function, as COPY reads it; rows without a staging time are staged now.
    static func insertStaged(_ points: StagedPoints) -> PostgresQuery {
        """
        INSERT INTO entity_values_ingest (tenant_id, entity_id, attribute_id, value_int, value_decimal, value_text,
                                          value_bool, value_ts, value_json, ts, batch_id, ingested_at)
        SELECT p.tenant_id::bigint, p.entity_id::bigint, p.attribute_id::integer, p.value_int::bigint,
               p.value_decimal::double precision, p.value_text, p.value_bool::boolean, p.value_ts::timestamptz,
               p.value_json::jsonb, p.ts::timestamptz, p.batch_id::bigint, coalesce(p.ingested_at::timestamptz, now())
          FROM unnest(\(points)) AS p
        """
    }

    /// A safe write waits for no entity delete (migration 0006).
    static let sharedDeletionLock: PostgresQuery = "SELECT pg_advisory_xact_lock_shared(\(AdvisoryLock.deletion))"

    static let synchronousCommit: PostgresQuery = "SET LOCAL synchronous_commit TO on"
    /// A staging write's settings in its own transaction, behind a transaction pooler
    /// (`StagingLink`): what a direct link sets once at startup.
    static let pooledStagingSettings: PostgresQuery =
        "SELECT set_config('synchronous_commit', 'off', true), set_config('statement_timeout', '600000', true)"

    /// Whether the batches of a staging write that failed were committed (true) or are now
    /// fenced (false).
    static func settle(_ batchIDs: [Int64], waitMilliseconds: Int32) -> PostgresQuery {
        "SELECT settle_staged_batches(\(batchIDs)::bigint[], \(waitMilliseconds))"
    }

    /// Of these batches, those whose flush committed.
    static func flushed(among ids: [Int64]) -> PostgresQuery {
        "SELECT batch_id FROM ingest_flushed_batches WHERE batch_id = ANY(\(ids)::bigint[])"
    }

    /// Of these batches, those neither flushed nor staged: lost by the database. One
    /// snapshot answers both, and a flush moves and records a batch atomically, so a
    /// batch called lost really is. (The owner's function: the server cannot read staging.)
    static func lost(among ids: [Int64]) -> PostgresQuery {
        "SELECT b FROM lost_batches(\(ids)::bigint[]) AS b"
    }

    /// Records of flushed and fenced batches older than a day (no replay or settle
    /// looks that far back).
    static let pruneFlushed: PostgresQuery = "DELETE FROM ingest_flushed_batches WHERE flushed_at < now() - interval '24 hours'"
    static let pruneFenced: PostgresQuery = "DELETE FROM ingest_fenced_batches WHERE fenced_at < now() - interval '24 hours'"

    /// One request's rows PostgreSQL refused at the staging write, kept for an operator
    /// (in a transaction that runs for the request's tenant: `TenantScope`).
    static func quarantine(tenant: Int64, batchID: Int64, data: ByteBuffer, rows: Int, sqlState: String, reason: String) -> PostgresQuery {
        """
        INSERT INTO ingest_quarantine (tenant_id, batch_id, copy_data, copy_rows, sqlstate, reason)
        VALUES (\(tenant), \(batchID), \(data), \(rows), \(sqlState), \(reason))
        """
    }
}
