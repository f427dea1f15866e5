import Foundation
import Logging
import Metrics
import PostgresNIO
import ServiceLifecycle
import Synchronization
import TesseraCore

/// Appends audit entries to `audit_log` (migration 0015) in batches: a request records its
/// entry in memory and goes on; every `interval` (or at `batchSize` entries) one statement
/// appends them all through `audit_append()`. A graceful shutdown appends what is left.
/// What a crash loses is the last interval's entries; an entry that cannot be appended is
/// kept for the next attempt, up to `capacity` entries, past which the oldest are dropped
/// and counted (`tessera_audit_entries_dropped_total`) rather than slowing requests.
package final class AuditTrail: Service, Sendable {
    package struct Configuration: Sendable {
        package var interval: Duration
        package var batchSize: Int
        package var capacity: Int

        package init(interval: Duration = .seconds(1), batchSize: Int = 5_000, capacity: Int = 200_000) {
            self.interval = interval
            self.batchSize = batchSize
            self.capacity = capacity
        }
    }

    let client: PostgresClient
    let configuration: Configuration
    let logger: Logger
    private let pending = Mutex<[AuditEntry]>([])
    private let appended: Counter
    private let dropped: Counter

    package static let metricHelp: [String: String] = [
        "tessera_audit_entries_appended_total": "Audit entries appended to audit_log.",
        "tessera_audit_entries_dropped_total": "Audit entries dropped because the database did not take them before the buffer filled.",
    ]

    package init(
        client: PostgresClient,
        configuration: Configuration = .init(),
        metrics factory: any MetricsFactory = MetricsSystem.factory,
        logger: Logger
    ) {
        self.appended = Counter(label: "tessera_audit_entries_appended_total", factory: factory)
        self.dropped = Counter(label: "tessera_audit_entries_dropped_total", factory: factory)
        self.client = client
        self.configuration = configuration
        self.logger = logger
    }

    /// Keeps an entry for the next append.
    package func record(_ entry: AuditEntry) {
        let overflow = self.pending.withLock { pending -> Int in
            pending.append(entry)
            let excess = pending.count - self.configuration.capacity
            if excess > 0 { pending.removeFirst(excess) }
            return max(0, excess)
        }
        if overflow > 0 { self.dropped.increment(by: overflow) }
    }

    /// Entries recorded and not yet appended.
    package var pendingCount: Int { self.pending.withLock { $0.count } }

    package func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: self.configuration.interval)
            await self.appendPending()
        }
        await self.appendPending()
    }

    /// Appends everything recorded so far, a batch at a time; what fails stays pending.
    package func appendPending() async {
        while true {
            let batch = self.pending.withLock { pending -> [AuditEntry] in
                let batch = Array(pending.prefix(self.configuration.batchSize))
                pending.removeFirst(batch.count)
                return batch
            }
            guard !batch.isEmpty else { return }
            do {
                try await self.append(batch)
                self.appended.increment(by: batch.count)
            } catch {
                self.logger.warning(
                    "Audit entries not appended yet; kept for the next attempt",
                    metadata: [
                        "audit.entries": "\(batch.count)", "error": "\(String(reflecting: error))",
                    ]
                )
                self.pending.withLock { $0.insert(contentsOf: batch, at: 0) }
                return
            }
        }
    }

    private func append(_ batch: [AuditEntry]) async throws {
        // 0 and '' stand for NULL (audit_append turns them back).
        let tenants = batch.map { $0.tenantID ?? 0 }
        let keys = batch.map { $0.keyID ?? 0 }
        let actors = batch.map(\.actor.rawValue)
        let actions = batch.map(\.action)
        let targets = batch.map(\.target)
        let statuses = batch.map { Int32($0.status) }
        let addresses = batch.map { $0.clientAddress ?? "" }
        let requestIDs = batch.map { $0.requestID ?? "" }
        let times = batch.map(\.at)
        try await self.client.liveQuery(
            """
            SELECT audit_append(\(tenants)::bigint[], \(keys)::bigint[], \(actors)::text[], \(actions)::text[], \(targets)::text[],
                                \(statuses)::integer[], \(addresses)::text[], \(requestIDs)::text[], \(times)::timestamptz[])
            """,
            logger: self.logger
        )
    }
}
