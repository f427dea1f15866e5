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
    /// Held (try-lock) by `stage_flush()` for its transaction: one flush at a time. Also
    /// taken (waiting) by `settle_staged_batch()`, so no flush runs while a failed staging write's
    /// batch is settled.
    package static let flush: Int64 = 7_346_812_002
    /// Held shared by a flush, a safe write or a quarantine replay, exclusively by an
    /// entity delete and by a change of a hot number slot: a flush never runs across them.
    package static let deletion: Int64 = 7_346_812_003

    package static let all: [Int64] = [migration, partitions, flush, deletion]
}
