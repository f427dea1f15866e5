import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import TesseraCore
import TesseraLocal
import TesseraStore

/// Options every command that touches the database shares.
struct DatabaseOptions: ParsableArguments {
    @Option(help: "Folder of the embedded local cluster (env TESSERA_DIR).")
    var dir: String?

    @Option(name: .customLong("database-url"), help: "PostgreSQL URL of the primary (env TESSERA_DATABASE_URL). Without it, the local cluster in --dir.")
    var databaseURL: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error (env TESSERA_LOG_LEVEL).")
    var logLevel: String?

    var environment: TesseraEnvironment { TesseraEnvironment(ProcessInfo.processInfo.environment) }

    var resolvedDirectory: String { self.dir ?? self.environment.directory }

    var resolvedDatabaseURL: String? { self.databaseURL ?? self.environment.databaseURL }

    func makeLogger(_ label: String = "tessera") -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = Logger.Level(rawValue: self.logLevel ?? self.environment.logLevel) ?? .info
        return logger
    }

    func localCluster(logger: Logger) -> LocalCluster {
        LocalCluster(
            configuration: .init(
                directory: self.resolvedDirectory,
                binDirectory: self.environment.postgresBinDirectory,
                backups: self.environment.backups
                    ? BackupSettings(repository: self.environment.backupRepository, archiveTimeoutSeconds: self.environment.archiveTimeoutSeconds)
                    : nil
            ),
            logger: logger
        )
    }

    /// The primary's URL: the configured one, or the running local cluster's.
    func primaryURL(logger: Logger) throws -> DatabaseURL {
        if let url = self.resolvedDatabaseURL {
            return try DatabaseURL(parsing: url)
        }
        let status = try self.localCluster(logger: logger).status()
        guard let primary = status.primary, primary.running else {
            throw ValidationError(
                "No database configured and no local cluster running in \(self.resolvedDirectory): set TESSERA_DATABASE_URL or run `tessera cluster up`."
            )
        }
        return try DatabaseURL(parsing: primary.url)
    }
}

/// Runs `body` with a connected pool, then shuts the pool down; database errors
/// are shown to the operator in full.
func withPostgresClient<T: Sendable>(
    url: DatabaseURL,
    logger: Logger,
    _ body: @escaping @Sendable (PostgresClient) async throws -> T
) async throws -> T {
    do {
        return try await PostgresClient.withRunning(url: url, logger: logger, body)
    } catch let error as PSQLError {
        throw OperatorError(message: "The database refused: \(String(reflecting: error))")
    } catch let error as PostgresTransactionError {
        throw OperatorError(message: "The database refused: \(String(reflecting: error))")
    }
}

/// A failure worth its full detail on the operator's terminal.
struct OperatorError: Error, CustomStringConvertible {
    var message: String
    var description: String { self.message }
}

extension DatabaseURL {
    /// Error text for ArgumentParser from a parse failure.
    static func parsed(_ text: String) throws -> DatabaseURL {
        let url: DatabaseURL
        do { url = try DatabaseURL(parsing: text) } catch { throw ValidationError(error.description) }
        if let rootCertificate = url.rootCertificate, !FileManager.default.isReadableFile(atPath: rootCertificate) {
            throw ValidationError("The database URL's sslrootcert \(rootCertificate) is not a readable file.")
        }
        return url
    }
}

/// `--monitoring`: Prometheus and the exporters beside the embedded cluster (README:
/// Operating Tessera).
struct MonitoringOptions: ParsableArguments {
    @Flag(help: "Also run Prometheus (with the alert rules) and the PostgreSQL, node and Redis exporters beside the cluster.")
    var monitoring = false

    @Option(name: .customLong("ops-dir"), help: "The project's ops folder (alert rules, exporter queries); default ./ops when it exists.")
    var opsDirectory: String?

    /// The settings, scraping `servers`; nil without `--monitoring`.
    func settings(servers: [String]) -> MonitoringSettings? {
        guard self.monitoring else { return nil }
        let ops = self.opsDirectory ?? (FileManager.default.fileExists(atPath: "ops/prometheus/alerts.yml") ? "ops" : nil)
        return MonitoringSettings(servers: servers, opsDirectory: ops.map { URL(fileURLWithPath: $0).standardizedFileURL.path })
    }
}
