import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import TesseraCore

/// Runs retention (`RetentionRunner`) as a `Service` of `serve`: shortly after start, then
/// every `interval`, on whichever server holds the `retention` lease (`maintenance_leases`),
/// so of many servers one does the work and another takes over within a lease when it stops.
/// The entities whose state changed are published to the projection feed, which the read
/// cache listens to.
package struct RetentionService: Service {
    package struct Configuration: Sendable {
        /// Between runs; a run starts once this much has passed since the last one began.
        package var interval: Duration
        package var runner: RetentionRunner.Options
        /// Before the first run: a starting server has its migrations and replay to do first.
        package var initialDelay: Duration

        package init(interval: Duration = .seconds(600), runner: RetentionRunner.Options = .init(), initialDelay: Duration = .seconds(30)) {
            self.interval = interval
            self.runner = runner
            self.initialDelay = initialDelay
        }
    }

    let client: PostgresClient
    let configuration: Configuration
    let feed: ProjectionFeed
    let holder: String
    let logger: Logger

    package init(client: PostgresClient, configuration: Configuration = .init(), feed: ProjectionFeed, logger: Logger) {
        self.client = client
        self.configuration = configuration
        self.feed = feed
        self.holder = "\(ProcessInfo.processInfo.hostName)/\(ProcessInfo.processInfo.processIdentifier)/\(UUID().uuidString.prefix(8))"
        self.logger = logger
    }

    package func run() async throws {
        let interval = self.configuration.interval
        let initialDelay = self.configuration.initialDelay
        _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: initialDelay) }
        while !Task.isCancelledOrShuttingDown {
            do {
                if try await self.takeLease(for: interval * 2) {
                    let runner = RetentionRunner(client: self.client, options: self.configuration.runner, logger: self.logger)
                    let feed = self.feed
                    _ = try await runner.run(at: Date()) { change in await feed.publish(change) }
                }
            } catch {
                self.logger.error("Retention failed; it runs again later", metadata: ["error": "\(String(reflecting: error))"])
            }
            _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    private func takeLease(for duration: Duration) async throws -> Bool {
        let seconds = Int(duration.components.seconds)
        let rows = try await self.client.query("SELECT take_maintenance_lease('retention', \(self.holder), \(seconds)::integer)", logger: self.logger)
        var taken = false
        for try await value in rows.decode(Bool.self) { taken = value }
        return taken
    }
}
