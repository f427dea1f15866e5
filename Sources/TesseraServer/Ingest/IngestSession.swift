import Foundation
import Metrics
import TesseraCore
import TesseraStore

/// One ingest request's points, resolved and written in chunks as the body streams,
/// so memory stays bounded whatever the body's size. Counts what was accepted and
/// keeps the first rejections.
struct IngestSession {
    enum Durability: String {
        case fast
        case safe
    }

    let tenant: Tenant
    let durability: Durability
    let services: IngestServices
    let chunkPoints: Int
    /// A chunk is written once its points' body bytes reach this, whatever their count:
    /// with `BodyPointReader.maxPointBytes` per point, a request holds a few MiB of
    /// parsed points at most, however large its body.
    let chunkBytes: Int
    private(set) var buffer: [IncomingPoint] = []
    private var bufferedBytes = 0
    private(set) var accepted = 0
    /// Of `accepted`: points PostgreSQL refused at the staging write, kept in quarantine
    /// for an operator instead of the time series.
    private(set) var quarantined = 0
    private(set) var rejected: [PointRejection] = []
    private(set) var rejectedCount = 0
    /// The position (index in `points`, or line) of the first point not yet written:
    /// every point before it was stored or rejected, none from it on was stored.
    private(set) var storedBefore = 0
    static let maxListedRejections = 1_000

    init(tenant: Tenant, durability: Durability, services: IngestServices, chunkPoints: Int = 5_000, chunkBytes: Int = 2 << 20) {
        self.tenant = tenant
        self.durability = durability
        self.services = services
        self.chunkPoints = chunkPoints
        self.chunkBytes = chunkBytes
        self.buffer.reserveCapacity(chunkPoints)
    }

    /// Refuses the request before its body is read when the write queue remembers being
    /// full for this tenant (a `fast` request; `safe` points do not queue). A request
    /// that passes is still admitted or refused by its points, chunk by chunk.
    func precheck() throws(TesseraError) {
        guard self.durability == .fast else { return }
        try self.services.pipeline.precheck(tenant: self.tenant.id)
    }

    /// Buffers a point that took `bytes` of the body, writing the chunk when it is full.
    mutating func add(_ point: IncomingPoint, bytes: Int) async throws(TesseraError) {
        self.buffer.append(point)
        self.bufferedBytes += bytes
        if self.buffer.count >= self.chunkPoints || self.bufferedBytes >= self.chunkBytes {
            try await self.writeBuffered()
        }
    }

    mutating func reject(_ rejection: PointRejection) {
        self.services.pipeline.metrics.rejected(1, reason: rejection.code)
        self.rejectedCount += 1
        if self.rejected.count < Self.maxListedRejections { self.rejected.append(rejection) }
    }

    /// Writes what is left; call once the body has been read.
    mutating func finish() async throws(TesseraError) {
        try await self.writeBuffered()
    }

    private mutating func writeBuffered() async throws(TesseraError) {
        guard !self.buffer.isEmpty else { return }
        let points = self.buffer
        let next = (points.last?.index ?? self.storedBefore - 1) + 1
        self.buffer.removeAll(keepingCapacity: true)
        self.bufferedBytes = 0
        // The tenant's points per second: the first chunk of a request is refused at once
        // (429, nothing stored); a later chunk waits for its allowance, up to 10 s.
        try await self.takeAllowance(points.count)
        let resolution = try await self.services.resolver.resolve(points, tenant: self.tenant, nowMicros: Self.nowMicros())
        for rejection in resolution.rejections { self.reject(rejection) }
        var fast = [IngestRow]()
        var safe = [IngestRow]()
        for (row, critical) in zip(resolution.rows, resolution.critical) {
            if critical || self.durability == .safe { safe.append(row) } else { fast.append(row) }
        }
        if !safe.isEmpty {
            try await self.services.safeWriter.write(safe)
            self.accepted += safe.count
            self.services.pipeline.metrics.accepted(safe.count, durability: "safe")
        }
        if !fast.isEmpty {
            if try await self.submitFast(fast).quarantined { self.quarantined += fast.count }
            self.accepted += fast.count
            self.services.pipeline.metrics.accepted(fast.count, durability: "fast")
        }
        self.storedBefore = next
    }

    /// What a request that failed midway had stored, for its problem document.
    struct Progress: Sendable, Equatable {
        var accepted: Int
        var storedBefore: Int
    }

    /// Set when some points were stored: the request's failure must say which.
    var progress: Progress? {
        self.accepted > 0 ? Progress(accepted: self.accepted, storedBefore: self.storedBefore) : nil
    }

    private func takeAllowance(_ points: Int) async throws(TesseraError) {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            do {
                try self.services.limits.takePoints(points, tenant: self.tenant)
                return
            } catch  where self.accepted > 0 && ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// The first chunk fails fast with 429/503; later chunks of an accepted request
    /// wait in the pipeline for room (up to 10 s), so a big body is slowed down rather
    /// than cut.
    private func submitFast(_ rows: [IngestRow]) async throws(TesseraError) -> IngestPipeline.Staged {
        do {
            return try await self.services.pipeline.submit(rows, tenant: self.tenant.id, patience: self.accepted > 0 ? .seconds(10) : .zero)
        } catch  where self.accepted > 0 {
            throw TesseraError(error.code, error.detail + " \(self.accepted) points of this request were accepted before this.")
        }
    }

    static func nowMicros() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1_000_000).rounded())
    }
}
