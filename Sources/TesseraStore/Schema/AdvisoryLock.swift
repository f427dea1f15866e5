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
    /// Held (try-lock) by `stage_flush()` for its transaction: one flush of everything at a
    /// time; held shared (try-lock) by each part of a flush in several sessions
    /// (`stage_flush_part()`, migration 0038). Taken exclusively (waiting) by
    /// `settle_staged_batch()` and `settle_staged_batches()`, so no flush runs while a failed
    /// staging write's batches are settled.
    package static let flush: Int64 = 7_346_812_002
    /// First key of the per-tenant try-locks of a flush's parts,
    /// `pg_try_advisory_xact_lock(7346812, tenant)` (migration 0038): two parts, of one
    /// server or of two, never move one tenant at once.
    package static let flushTenant: Int32 = 7_346_812
    /// Held shared by a flush, a safe write or a quarantine replay, exclusively by an
    /// entity delete and by a change of a hot number slot: a flush never runs across them.
    package static let deletion: Int64 = 7_346_812_003

    package static let all: [Int64] = [migration, partitions, flush, deletion]
}
