import Logging
import PostgresNIO
import TesseraCore

extension PostgresClient {
    /// Runs `body` with a pool on `url` that runs for the closure's duration (for
    /// commands and tests; the server runs its pools as services instead).
    package static func withRunning<T: Sendable>(
        url: DatabaseURL,
        maximumConnections: Int = 4,
        startupParameters: [(String, String)] = [],
        logger: Logger,
        _ body: @escaping @Sendable (PostgresClient) async throws -> T
    ) async throws -> T {
        var configuration = PostgresClient.Configuration(url: url, maximumConnections: maximumConnections)
        configuration.options.additionalStartupParameters = startupParameters
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }
}
