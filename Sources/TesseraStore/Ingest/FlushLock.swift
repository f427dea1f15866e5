/// The advisory lock keys the write path's SQL shares with the server (the SQL side is
/// in migrations 0002, 0006 and 0007).
package enum FlushLock {
    /// Held (try-lock) by `stage_flush()` for its transaction: one flush at a time. Also
    /// taken (waiting) by `settle_staged_batch()`, so no flush runs while a failed COPY's
    /// batch is settled.
    package static let flush: Int64 = 7346812002
    /// Held shared by a flush or a safe write, exclusively by an entity delete: a flush
    /// never runs across a delete.
    package static let deletion: Int64 = 7346812003
}
