/// Every PostgreSQL advisory lock key Tessera takes, named once. The SQL functions
/// that take them (see `Schema/Functions/README.md`, "Lock keys") carry the same
/// numbers as literals; `SchemaFunctionFilesTests` checks that every key a function
/// file names is one of these.
package enum AdvisoryLock {
    /// Session lock of `tessera migrate` (and of a server migrating at start): one
    /// migrator at a time.
    package static let migration: Int64 = 7_346_812_000
    /// Taken by `ensure_ts_partitions()` for its transaction: one partition maker at a time.
    package static let partitions: Int64 = 7_346_812_001
    /// Held shared (try-lock) by `stage_flush(part, parts)` for its transaction, and taken
    /// exclusively (waiting) by `settle_staged_batch()`, so no flush runs while a failed
    /// COPY's batch is settled. One flush at a time per tenant is the two-key lock
    /// (`flushTenant`, tenant id), a try-lock of each tenant a flush moves.
    package static let flush: Int64 = 7_346_812_002
    /// First key of the per-tenant flush locks, `pg_try_advisory_xact_lock(7346812, tenant)`
    /// (migration 0026): two flushes never move one tenant at once.
    package static let flushTenant: Int32 = 7_346_812
    /// Held shared by a flush, a safe write or a quarantine replay, exclusively by an
    /// entity delete and by a change of a hot number slot: a flush never runs across them.
    package static let deletion: Int64 = 7_346_812_003

    package static let all: [Int64] = [migration, partitions, flush, deletion]
}
