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
    let lease: MaintenanceLease
    let logger: Logger

    package init(client: PostgresClient, configuration: Configuration = .init(), feed: ProjectionFeed, logger: Logger) {
        self.client = client
        self.configuration = configuration
        self.feed = feed
        self.lease = MaintenanceLease(client: client, job: "retention", logger: logger)
        self.logger = logger
    }

    package func run() async throws {
        let interval = self.configuration.interval
        let initialDelay = self.configuration.initialDelay
        _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: initialDelay) }
        while !Task.isCancelledOrShuttingDown {
            do {
                if try await self.lease.take(for: interval * 2) {
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
}
