import Synchronization
import TesseraCore

/// Per-tenant limits of one server process: points per second (a token bucket a tenant,
/// `max_points_per_second`) and requests in flight at once. Several servers each hold
/// their own: behind a balancer of N servers a tenant may write up to N times its rate.
package final class TenantLimits: Sendable {
    /// Requests of one tenant this server handles at once; past it, 429.
    package let maxConcurrentRequests: Int
    private let buckets = Mutex<[Int64: TokenBucket]>([:])
    private let inFlight = Mutex<[Int64: Int]>([:])
    private let clock = ContinuousClock()
    private let origin = ContinuousClock.now

    package init(maxConcurrentRequests: Int = 32) {
        self.maxConcurrentRequests = max(1, maxConcurrentRequests)
    }

    /// Takes `points` from the tenant's allowance, or throws `rate_limited` with how long to wait.
    func takePoints(_ points: Int, tenant: Tenant) throws(TesseraError) {
        let now = self.nowNanos()
        let decision = self.buckets.withLock { buckets in
            var bucket = buckets[tenant.id] ?? TokenBucket(rate: tenant.settings.maxPointsPerSecond, nowNanos: now)
            defer { buckets[tenant.id] = bucket }
            return bucket.take(points, rate: tenant.settings.maxPointsPerSecond, nowNanos: now)
        }
        if case .retryAfter(let seconds) = decision {
            throw TesseraError(
                .rateLimited,
                "This tenant may write \(tenant.settings.maxPointsPerSecond) points a second (max_points_per_second); retry after \(seconds) s.",
                retryAfterSeconds: seconds
            )
        }
    }

    /// Runs `body` as one of the tenant's requests in flight, or throws `rate_limited`
    /// when it already has `maxConcurrentRequests`.
    func withRequestSlot<T>(tenant: Int64, _ body: () async throws -> T) async throws -> T {
        let admitted = self.inFlight.withLock { counts in
            let current = counts[tenant, default: 0]
            guard current < self.maxConcurrentRequests else { return false }
            counts[tenant] = current + 1
            return true
        }
        guard admitted else {
            throw TesseraError(
                .rateLimited,
                "This tenant has \(self.maxConcurrentRequests) requests in flight on this server, its limit; retry after a second.",
                retryAfterSeconds: 1
            )
        }
        defer {
            self.inFlight.withLock { counts in
                let left = counts[tenant, default: 1] - 1
                counts[tenant] = left > 0 ? left : nil
            }
        }
        return try await body()
    }

    private func nowNanos() -> Int64 {
        let elapsed = self.origin.duration(to: self.clock.now).components
        return elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000
    }
}
