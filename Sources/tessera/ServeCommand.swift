import ArgumentParser
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import Prometheus
import ServiceLifecycle
import TesseraCache
import TesseraCore
import TesseraLocal
import TesseraRouting
import TesseraServer
import TesseraStore

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the HTTP API. Without TESSERA_DATABASE_URL, on the embedded local cluster in --dir."
    )

    @OptionGroup var options: DatabaseOptions
    @Option(help: "Address to listen on (env TESSERA_HOST).") var host: String?
    @Option(help: "Port to listen on (env TESSERA_PORT).") var port: Int?
    @Option(help: "PEM certificate (chain) to serve HTTPS with, with --tls-key (env TESSERA_TLS_CERT).") var tlsCert: String?
    @Option(help: "PEM private key of --tls-cert (env TESSERA_TLS_KEY).") var tlsKey: String?
    @Option(help: "Streaming replicas of the embedded cluster (env TESSERA_REPLICAS, default 2).") var replicas: Int?
    @Flag(help: "The embedded cluster as three nodes under Patroni; the server follows its leader (README: High availability).")
    var ha = false
    @Flag(help: "Only check the schema; do not apply migrations.") var noMigrate = false
    @Flag(help: "Create (or re-key) a tenant named 'demo' and print its key with a curl example.") var demo = false
    @OptionGroup var monitoring: MonitoringOptions

    /// Where Prometheus finds this server: its address, or the loopback when it listens on all.
    static func scrapeTarget(host: String, port: Int) -> String {
        "\(host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host):\(port)"
    }

    /// TESSERA_DB_POOLING's value; nil when unset.
    static func pooling(_ text: String?) throws -> DatabaseURL.Pooling? {
        guard let text else { return nil }
        guard let pooling = DatabaseURL.Pooling(rawValue: text.lowercased()) else {
            throw ValidationError("TESSERA_DB_POOLING is '\(text)': it must be transaction (pgbouncer, RDS Proxy) or none.")
        }
        return pooling
    }

    func run() async throws {
        let environment = self.options.environment
        let logger = self.options.makeLogger()
        let registry = PrometheusCollectorRegistry()

        // Certificate files are checked before anything starts.
        let tls: ServerTLS?
        switch (self.tlsCert ?? environment.tlsCertificateFile, self.tlsKey ?? environment.tlsKeyFile) {
        case (nil, nil): tls = nil
        case (let certificate?, let key?):
            do { tls = try ServerTLS(certificateFile: certificate, keyFile: key) } catch { throw ValidationError(error.description) }
        default: throw ValidationError("HTTPS needs both --tls-cert and --tls-key (or TESSERA_TLS_CERT and TESSERA_TLS_KEY).")
        }
        var startedCluster: LocalCluster?
        // The server connects as `url`'s role (tessera_app under row-level security);
        // migrations run as `migrationURL`'s (README: Security).
        var url: DatabaseURL
        let migrationURL: DatabaseURL
        var replicaURLs = [DatabaseURL]()
        var redisURL = environment.redisURL
        var embeddedVault: DatabaseURL?
        var patroniURLs = environment.patroniURLs
        var spoolDirectory = environment.spoolDirectory
        if let configured = self.options.resolvedDatabaseURL {
            if self.monitoring.monitoring {
                throw ValidationError(
                    "--monitoring runs beside the embedded cluster; with a database URL, run Prometheus and the exporters yourself (README: Operating Tessera)."
                )
            }
            url = try DatabaseURL.parsed(configured)
            url.pooling = try Self.pooling(environment.pooling) ?? .none
            migrationURL = try environment.migrationDatabaseURL.map(DatabaseURL.parsed) ?? url
            replicaURLs = try environment.replicaURLs.map(DatabaseURL.parsed)
        } else {
            var cluster = self.options.localCluster(logger: logger)
            cluster = LocalCluster(
                configuration: .init(
                    directory: cluster.configuration.directory,
                    replicas: self.replicas ?? environment.localReplicas,
                    binDirectory: cluster.configuration.binDirectory,
                    monitoring: self.monitoring.settings(servers: [Self.scrapeTarget(host: self.host ?? environment.host, port: self.port ?? environment.port)]
                    ),
                    pooler: PoolerSettings(),
                    backups: cluster.configuration.backups,
                    ha: self.ha
                ),
                logger: logger
            )
            let wasRunning = (try? cluster.status().primary?.running) ?? false
            let status = try await cluster.up()
            if !wasRunning { startedCluster = cluster }
            migrationURL = try DatabaseURL.parsed(status.primary!.url)
            // Through the cluster's pgbouncer when it runs, as behind RDS Proxy (README:
            // Behind a pooler); TESSERA_DB_POOLING=none connects straight to the primary.
            let pooler = status.components.first { $0.kind == "pgbouncer" && $0.running }
            if let pooler, let poolerURL = pooler.appURL, try Self.pooling(environment.pooling) != DatabaseURL.Pooling.none {
                url = try DatabaseURL.parsed(poolerURL)
                url.pooling = .transaction
            } else {
                url = try DatabaseURL.parsed(status.primary!.appURL ?? status.primary!.url)
            }
            embeddedVault = url
            embeddedVault?.database = LocalCluster.keyDatabaseName
            spoolDirectory = spoolDirectory ?? cluster.configuration.directory + "/spool"
            if self.ha {
                patroniURLs = status.components.filter { $0.kind == "patroni" }.compactMap(\.patroniURL)
            }
            replicaURLs = try status.components.filter { $0.role == "replica" && !self.ha }.prefix(self.replicas ?? environment.localReplicas)
                .map { try DatabaseURL.parsed($0.appURL ?? $0.url) }
            if redisURL == nil, let redis = status.components.first(where: { $0.kind == "redis" && $0.running }) {
                redisURL = redis.url
            }
            logger.info(
                "Embedded local cluster up",
                metadata: [
                    "cluster.dir": "\(cluster.configuration.directory)", "database": "\(url)", "db.pooling": "\(url.pooling.rawValue)",
                    "replicas": "\(replicaURLs.count)",
                ]
            )
        }
        var topology = ServerDependencies.ReadTopology(
            replicas: replicaURLs,
            analytics: try environment.analyticsURL.map(DatabaseURL.parsed),
            poolSize: environment.readPoolSize,
            router: .init(
                policy: .init(maxReplicaLagMilliseconds: environment.maxReplicaLagMilliseconds),
                statementTimeoutMilliseconds: [
                    .strong: environment.strongTimeoutMilliseconds,
                    .eventual: environment.eventualTimeoutMilliseconds,
                    .analytics: environment.analyticsTimeoutMilliseconds,
                ]
            ),
            preparedStatements: environment.preparedStatements
        )
        // With Patroni: through a proxy to the leader, and the members as replicas.
        var follower: PatroniFollower?
        var migrationURLNow = migrationURL
        if !patroniURLs.isEmpty {
            let following = try await PatroniFollower.start(endpoints: patroniURLs, serverURL: url, logger: logger)
            url = following.primaryURL
            migrationURLNow.host = following.primaryURL.host
            migrationURLNow.port = following.primaryURL.port
            if environment.replicaURLs.isEmpty { topology = following.topology(topology) }
            // The embedded key vault lives on the primary too: it follows the leader the same way.
            embeddedVault?.host = following.primaryURL.host
            embeddedVault?.port = following.primaryURL.port
            follower = following
        }
        let privacy = try PrivacyConfiguration.resolve(
            environment: environment,
            directory: self.options.resolvedDirectory,
            embeddedVault: embeddedVault
        )
        var cache: ServerDependencies.CacheSettings?
        if environment.cacheEnabled, let redisURL {
            let parsed: RedisURL
            do { parsed = try RedisURL(parsing: redisURL) } catch { throw ValidationError(error.description) }
            var redis = RedisClient.Configuration(url: parsed)
            if let caFile = environment.redisCAFile {
                guard FileManager.default.isReadableFile(atPath: caFile) else {
                    throw ValidationError("TESSERA_REDIS_CA_FILE \(caFile) is not a readable file.")
                }
                redis.trust(caFile: caFile)
            }
            cache = .init(
                redis: redis,
                cache: .init(
                    entityTTL: .seconds(environment.cacheEntityTTLSeconds),
                    slidingEntityTTL: environment.cacheEntityTTLSliding,
                    queryTTL: .seconds(environment.cacheQueryTTLSeconds)
                )
            )
            logger.info("Read cache on", metadata: ["redis": "\(parsed)"])
        }
        do {
            try await self.serve(
                url: url,
                migrationURL: migrationURLNow,
                follower: follower,
                spoolDirectory: spoolDirectory,
                topology: topology,
                cache: cache,
                privacy: privacy,
                tls: tls,
                environment: environment,
                registry: registry,
                logger: logger
            )
        } catch {
            if let startedCluster { _ = try? await startedCluster.down() }
            throw error
        }
        if let startedCluster {
            logger.info("Stopping the local cluster this server started")
            _ = try await startedCluster.down()
        }
    }

    private func serve(
        url: DatabaseURL,
        migrationURL: DatabaseURL,
        follower: PatroniFollower?,
        spoolDirectory: String?,
        topology: ServerDependencies.ReadTopology,
        cache: ServerDependencies.CacheSettings?,
        privacy: ServerDependencies.PrivacySettings?,
        tls: ServerTLS?,
        environment: TesseraEnvironment,
        registry: PrometheusCollectorRegistry,
        logger: Logger
    ) async throws {
        let noMigrate = self.noMigrate
        // The proxy joins connections to the leader only while its watcher runs.
        let following = Task { try await follower?.watcher.run() }
        defer { following.cancel() }
        try await withPostgresClient(url: noMigrate ? url : migrationURL, logger: logger) { client in
            let migrator = try Migrator(client: client, logger: logger)
            if noMigrate {
                try await migrator.verifyCurrent()
            } else {
                let report = try await migrator.migrate()
                logger.info("Schema current", metadata: ["schema.version": "\(report.schemaVersion)", "migrations.applied": "\(report.applied)"])
            }
        }
        try await withPostgresClient(url: url, logger: logger) { client in
            let role = try await ServingRole.inspect(client, logger: logger)
            if let problem = role.problem {
                logger.warning(
                    "The server's database role is not walled in by row-level security: \(problem). Connect as tessera_app (README: Security).",
                    metadata: ["db.role": "\(role.name)"]
                )
            }
        }
        if let privacy {
            try await withPostgresClient(url: privacy.vaultURL, logger: logger) { client in
                try await DataKeyVault(client: client, master: privacy.masterKey, logger: logger).prepare()
            }
            logger.info("Key vault ready: pii values are encrypted", metadata: ["vault": "\(privacy.vaultURL)"])
        } else {
            logger.notice("No master key and key vault: pii attributes' values are refused (README: Security)")
        }
        let adminToken = try AdminToken.resolve(environment: environment.adminToken, directory: self.options.resolvedDirectory)
        let configuration = ServerConfiguration(
            host: self.host ?? environment.host,
            port: self.port ?? environment.port,
            adminToken: adminToken.value,
            maxBodyBytes: environment.maxBodyBytes,
            handlersOnEventLoop: environment.handlersOnEventLoop,
            accessLog: environment.accessLog,
            idleTimeout: .seconds(Int64(max(1, environment.httpIdleTimeoutSeconds))),
            tls: tls
        )
        following.cancel()
        // One watcher at a time: the service group's starts once this one has ended.
        _ = try? await following.value
        let dependencies = try ServerDependencies(
            primaryURL: url,
            poolSize: environment.poolSize,
            ingest: IngestPipeline.Configuration(spoolDirectory: spoolDirectory, flushSessions: environment.flushSessions),
            resolverRules: .init(backfillHorizonMonths: max(1, min(environment.backfillHorizonMonths, 1_200))),
            maxIngestBodyBytes: environment.maxIngestBodyBytes,
            tenantLimits: TenantLimits(maxConcurrentRequests: environment.maxConcurrentRequestsPerTenant),
            readTopology: topology,
            cache: cache,
            privacy: privacy,
            retention: environment.retentionIntervalSeconds > 0
                ? RetentionService.Configuration(interval: .seconds(environment.retentionIntervalSeconds)) : nil,
            clusterServices: follower?.services ?? [],
            metrics: registry,
            logger: logger
        )
        var app = buildApplication(configuration: configuration, dependencies: dependencies, logger: logger)
        let demo = self.demo
        let directory = self.options.resolvedDirectory
        app.beforeServerStarts {
            let base = "\(configuration.tls == nil ? "http" : "https")://\(configuration.host):\(configuration.port)"
            if let kept = adminToken.file {
                if adminToken.generatedNow {
                    // Shown once, when it is made; later starts say only where it is kept.
                    print("Admin token, generated now and kept in \(kept) (shown only this once): \(adminToken.value)")
                } else {
                    print("Admin token: kept in \(kept)")
                }
            }
            if demo {
                let key = try await DemoTenant.ensure(catalog: dependencies.catalog, directory: directory)
                print(DemoTenant.instructions(baseURL: base, key: key))
            }
            fflush(nil)
        }
        var group = ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // A shutdown ends whatever the database does (README: High availability): the drain's
        // 30 s, 15 s more for the rest, then cancellation, which has 15 s before the process aborts.
        group.maximumGracefulShutdownDuration = IngestPipeline.Configuration().drainTimeout + .seconds(15)
        group.maximumCancellationDuration = .seconds(15)
        let serviceGroup = ServiceGroup(configuration: group)
        try await serviceGroup.run()
    }
}

/// The admin token: `TESSERA_ADMIN_TOKEN` (32 characters or more), else generated once
/// and kept in `<dir>/admin-token` (mode 0600).
struct AdminToken {
    static let minimumLength = 32

    var value: String
    /// Where it is kept, when it was generated rather than given.
    var file: String?
    /// Whether it was generated by this start (and so is shown, once).
    var generatedNow = false

    static func resolve(environment: String?, directory: String) throws -> AdminToken {
        if let environment {
            guard environment.count >= Self.minimumLength else {
                throw ValidationError(
                    "TESSERA_ADMIN_TOKEN has \(environment.count) characters; it must have \(Self.minimumLength) or more (for example `openssl rand -base64 33`)."
                )
            }
            return AdminToken(value: environment, file: nil)
        }
        let path = directory + "/admin-token"
        if let data = FileManager.default.contents(atPath: path) {
            let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if !text.isEmpty { return AdminToken(value: text, file: path) }
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let token = "tadm_" + RandomToken.base62(length: 40)
        FileManager.default.createFile(atPath: path, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600])
        return AdminToken(value: token, file: path, generatedNow: true)
    }
}
