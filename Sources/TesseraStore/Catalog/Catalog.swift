import Logging
import PostgresNIO
import TesseraCore

/// The catalog: tenants, their attributes and their entities. Every query of this
/// family lives in `Catalog+*.swift`, scoped by tenant id.
package struct Catalog: Sendable {
    let client: PostgresClient
    let logger: Logger
    /// Known API keys for a few seconds (shared by every copy of this catalog).
    let keys: TenantKeyCache

    package init(client: PostgresClient, keys: TenantKeyCache = TenantKeyCache(), logger: Logger) {
        self.client = client
        self.keys = keys
        self.logger = logger
    }

    /// Runs a store call, turning database failures into client-facing errors.
    func run<Result: Sendable>(_ operation: () async throws -> Result) async throws(TesseraError) -> Result {
        do {
            return try await operation()
        } catch {
            let clientError = DatabaseErrors.clientError(for: error)
            if clientError.code == .unavailable || clientError.code == .timeout {
                self.logger.error("Catalog query failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            throw clientError
        }
    }
}
