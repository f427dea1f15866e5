import NIOCore
import TesseraCore

/// The acknowledged batches whose flush has not been seen committed yet, kept so
/// they can be replayed if the database loses its UNLOGGED staging table (crash
/// recovery empties it). A state machine with no I/O: the flusher drives it.
package struct ReplayLog: Sendable {
    package struct Batch: Sendable {
        package var id: Int64
        /// The exact COPY text staged, tagged with `id`.
        package var data: ByteBuffer
        /// Capacity to give back to the queue, per tenant.
        package var holds: [Hold]
        package var stagedAt: ServiceClock.Instant
    }

    package struct Hold: Sendable, Equatable {
        package var tenant: Int64
        package var points: Int
        package var bytes: Int
    }

    private var batches: [Int64: Batch] = [:]

    package init() {}

    package var pendingIDs: [Int64] { self.batches.keys.sorted() }
    /// When the oldest batch not confirmed flushed was staged.
    package var oldestStagedAt: ServiceClock.Instant? { self.batches.values.lazy.map(\.stagedAt).min() }
    package var count: Int { self.batches.count }
    /// The points of the held batches, kept as they come and go (a writer stages a batch a
    /// tenant of its group, and asks for the backlog after each).
    package private(set) var pendingPoints = 0

    package func contains(_ id: Int64) -> Bool {
        self.batches[id] != nil
    }

    /// Holds a staged batch until its flush is seen. The writer takes new ids; should
    /// one come twice all the same, the two are held as one (their rows carry the same
    /// id, so they are flushed, confirmed and replayed together) rather than the first
    /// being forgotten.
    package mutating func staged(_ batch: Batch) {
        self.pendingPoints += batch.holds.reduce(0) { $0 + $1.points }
        guard var held = self.batches[batch.id] else {
            self.batches[batch.id] = batch
            return
        }
        var data = batch.data
        held.data.writeBuffer(&data)
        held.holds.append(contentsOf: batch.holds)
        held.stagedAt = min(held.stagedAt, batch.stagedAt)
        self.batches[batch.id] = held
    }

    /// The flush of these batches committed: forget them; returns what to release.
    package mutating func flushed(_ ids: some Sequence<Int64>) -> [Hold] {
        var holds = [Hold]()
        for id in ids {
            if let batch = self.batches.removeValue(forKey: id) { holds.append(contentsOf: batch.holds) }
        }
        self.pendingPoints -= holds.reduce(0) { $0 + $1.points }
        return holds
    }

    /// The batches to stage again: lost from staging and never flushed.
    package func batches(_ ids: some Sequence<Int64>) -> [Batch] {
        ids.compactMap { self.batches[$0] }
    }

    /// Pending batches staged before `instant`.
    package func staged(before instant: ServiceClock.Instant) -> [Int64] {
        self.batches.values.filter { $0.stagedAt < instant }.map(\.id).sorted()
    }
}
