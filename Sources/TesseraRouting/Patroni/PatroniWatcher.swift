import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import TesseraCore

/// Follows a Patroni cluster: reads `GET /cluster` from the first REST API that answers,
/// every `interval`, and keeps the latest view. The primary proxy connects to its leader,
/// and the read router sends `eventual` reads only to the replicas it calls readable.
///
/// Patroni's view is the DCS's: a leader whose node died stays the leader until its key
/// expires (the `ttl`), so the proxy also tries each connection and waits for the next
/// leader when it cannot reach this one.
package final class PatroniWatcher: Service, Sendable {
    package struct Configuration: Sendable {
        /// Patroni REST APIs, `http://host:8008` (any node's answers for the cluster).
        package var endpoints: [String]
        package var interval: Duration
        /// One REST call's limit: a node that does not answer within it is skipped.
        package var requestTimeout: Duration

        package init(endpoints: [String], interval: Duration = .milliseconds(500), requestTimeout: Duration = .seconds(1)) {
            self.endpoints = endpoints
            self.interval = interval
            self.requestTimeout = requestTimeout
        }
    }

    package let configuration: Configuration
    let logger: Logger
    private let latest = Mutex<PatroniView?>(nil)
    private let listeners = Mutex<[@Sendable (PatroniView) -> Void]>([])

    package init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The latest view; nil before any REST API answered.
    package var view: PatroniView? { self.latest.withLock { $0 } }

    /// Where the leader's PostgreSQL listens now, if there is a running leader.
    package var leader: PatroniView.Address? { self.view?.leader?.address }

    /// Whether `eventual` reads may go to the member `name` now (`PatroniView.isReadableReplica`).
    package func admits(_ name: String) -> Bool {
        self.view?.isReadableReplica(name) ?? false
    }

    /// Calls `listener` with every view that differs from the one before.
    package func onChange(_ listener: @escaping @Sendable (PatroniView) -> Void) {
        self.listeners.withLock { $0.append(listener) }
    }

    /// Reads the cluster until one REST API answers, or `timeout` passes (then throws).
    package func firstView(within timeout: Duration) async throws -> PatroniView {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let view = await self.poll() { return view }
            guard ContinuousClock.now < deadline else {
                throw TesseraError(
                    .unavailable,
                    "No Patroni REST API answered GET /cluster within \(timeout): \(self.configuration.endpoints.joined(separator: ", "))."
                )
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    package func run() async throws {
        // The first service and the last to stop: the proxy and the pools need it until the
        // end of a graceful shutdown (the flusher's last flush goes through the leader it names).
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            await self.poll()
            let interval = self.configuration.interval
            _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One round: the first answer, recorded (and told to the listeners if it changed).
    @discardableResult
    package func poll() async -> PatroniView? {
        for endpoint in self.configuration.endpoints {
            guard let view = await self.fetch(endpoint) else { continue }
            let previous = self.latest.withLock { latest in
                defer { latest = view }
                return latest
            }
            if previous != view {
                if previous?.leader?.name != view.leader?.name {
                    self.logger.notice(
                        "Patroni leader",
                        metadata: [
                            "leader": "\(view.leader.map { "\($0.name) \($0.address)" } ?? "none")",
                            "previous": "\(previous?.leader?.name ?? "none")", "timeline": "\(view.leader?.timeline.map(String.init) ?? "?")",
                        ]
                    )
                }
                for listener in self.listeners.withLock({ $0 }) { listener(view) }
            }
            return view
        }
        return nil
    }

    private func fetch(_ endpoint: String) async -> PatroniView? {
        let base = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        let request = HTTPClientRequest(url: base + "/cluster")
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: TimeAmount(self.configuration.requestTimeout))
            guard response.status == .ok else { return nil }
            let body = try await response.body.collect(upTo: 1 << 20)
            return try JSONDecoder().decode(PatroniView.self, from: Data(body.readableBytesView))
        } catch {
            self.logger.debug("Patroni REST API did not answer", metadata: ["endpoint": "\(endpoint)", "error": "\(error)"])
            return nil
        }
    }
}
