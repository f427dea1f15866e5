import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Prometheus and the PostgreSQL, node and Redis exporters beside the local cluster
/// (`tessera cluster up --monitoring`), each in `<dir>/monitoring/<name>`, on 127.0.0.1.
/// Prometheus scrapes the Tessera servers and the exporters, and evaluates the project's
/// alert rules; its UI is at the `prometheus` component's URL.
struct MonitoringStack {
    /// What the exporters watch.
    struct Targets {
        /// The primary, as the local superuser (the exporter's queries read every tenant's rows).
        var postgresURL: String?
        var redisPort: Int?
        var redisPassword: String?
    }

    var settings: MonitoringSettings
    var directory: String
    var logger: Logger

    static let components = ["postgres-exporter", "node-exporter", "redis-exporter", "prometheus"]

    /// Starts each program that is installed and not running; returns each one's port. When
    /// one fails, those this call started are stopped again: none is left running unrecorded.
    func up(targets: Targets, ports: [String: Int]) throws -> [String: Int] {
        do {
            return try self.startAll(targets: targets, ports: ports)
        } catch {
            for name in Self.components where ports[name] == nil {
                MonitoredProcess.stop(directory: self.directory + "/" + name, name: name, logger: self.logger)
            }
            throw error
        }
    }

    private func startAll(targets: Targets, ports: [String: Int]) throws -> [String: Int] {
        try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
        var started = [String: Int]()
        let queries = self.settings.opsDirectory.map { $0 + "/prometheus/postgres-exporter.yml" }.flatMap {
            FileManager.default.fileExists(atPath: $0) ? $0 : nil
        }
        if let url = targets.postgresURL,
            let process = self.process(
                "postgres-exporter",
                executable: "prometheus-postgres-exporter",
                environment: ["DATA_SOURCE_NAME": url],
                arguments: { port in ["--web.listen-address=127.0.0.1:\(port)"] + (queries.map { ["--extend.query-path=\($0)"] } ?? []) }
            )
        {
            started[process.name] = try process.start(preferredPort: ports[process.name], currentPort: ports[process.name])
        }
        if let process = self.process(
            "node-exporter",
            executable: "prometheus-node-exporter",
            arguments: { port in ["--web.listen-address=127.0.0.1:\(port)"] }
        ) {
            started[process.name] = try process.start(preferredPort: ports[process.name], currentPort: ports[process.name])
        }
        if let redisPort = targets.redisPort,
            let process = self.process(
                "redis-exporter",
                executable: "prometheus-redis-exporter",
                environment: ["REDIS_PASSWORD": targets.redisPassword ?? ""],
                arguments: { port in ["--redis.addr=redis://127.0.0.1:\(redisPort)", "--web.listen-address=127.0.0.1:\(port)"] }
            )
        {
            started[process.name] = try process.start(preferredPort: ports[process.name], currentPort: ports[process.name])
        }
        if let process = self.process(
            "prometheus",
            executable: "prometheus",
            arguments: { port in
                [
                    "--config.file=\(self.directory)/prometheus.yml",
                    "--storage.tsdb.path=\(self.directory)/prometheus/data",
                    "--storage.tsdb.retention.time=7d",
                    "--web.listen-address=127.0.0.1:\(port)",
                    "--web.enable-lifecycle",
                ]
            }
        ) {
            try self.writeConfiguration(exporters: started)
            if let running = MonitoredProcess.runningPID(directory: process.directory) {
                // Already running: it reads the new targets and rules again.
                ProcessControl.signal(running, SIGHUP)
            }
            started[process.name] = try process.start(preferredPort: ports[process.name], currentPort: ports[process.name])
        }
        return started
    }

    private func process(
        _ name: String,
        executable: String,
        environment: [String: String] = [:],
        arguments: @escaping @Sendable (Int) -> [String]
    ) -> MonitoredProcess? {
        guard let path = MonitoredProcess.locate(executable) else {
            self.logger.notice("\(executable) is not installed; the monitoring stack runs without it (apt-get install \(Self.package(executable)))")
            return nil
        }
        return MonitoredProcess(
            name: name,
            executable: path,
            arguments: arguments,
            environment: environment,
            directory: self.directory + "/" + name,
            logger: self.logger
        )
    }

    static func package(_ executable: String) -> String {
        executable == "prometheus" ? "prometheus" : executable
    }

    /// `<dir>/monitoring/prometheus.yml`: every Tessera server, each exporter, Prometheus
    /// itself, and the alert rules when the ops folder is known. Rewritten at each `up`.
    func writeConfiguration(exporters: [String: Int]) throws {
        let interval = self.settings.intervalText
        var jobs = [(String, [String])]()
        jobs.append(("tessera", self.settings.servers))
        for (job, component) in [("postgres", "postgres-exporter"), ("node", "node-exporter"), ("redis", "redis-exporter")] {
            if let port = exporters[component] { jobs.append((job, ["127.0.0.1:\(port)"])) }
        }
        var text = """
            # Written by tessera cluster up --monitoring; edits are overwritten at the next start.
            global:
              scrape_interval: \(interval)
              evaluation_interval: \(interval)

            """
        if let rules = self.settings.opsDirectory.map({ $0 + "/prometheus/alerts.yml" }), FileManager.default.fileExists(atPath: rules) {
            text += "rule_files:\n  - \(Self.quoted(rules))\n"
        }
        text += "scrape_configs:\n"
        for (job, targets) in jobs where !targets.isEmpty {
            text += "  - job_name: \(job)\n    static_configs:\n      - targets: [\(targets.map(Self.quoted).joined(separator: ", "))]\n"
        }
        FileManager.default.createFile(atPath: self.directory + "/prometheus.yml", contents: Data(text.utf8), attributes: [.posixPermissions: 0o644])
    }

    /// A YAML double-quoted string.
    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static func stop(name: String, directory: String, logger: Logger) {
        MonitoredProcess.stop(directory: directory, name: name, logger: logger)
    }
}
