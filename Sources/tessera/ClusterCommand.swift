import ArgumentParser
import Foundation
import TesseraCore
import TesseraLocal
import TesseraStore

struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "The embedded local cluster: PostgreSQL (primary and streaming replicas) and Redis on 127.0.0.1, kept in --dir.",
        subcommands: [Up.self, Down.self, Status.self, Switchover.self, Failover.self]
    )

    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start the local cluster (initialising it on first use) and migrate it.")
        @OptionGroup var options: DatabaseOptions
        @Option(help: "Streaming replicas of the primary to run beside it.") var replicas = 0
        @Flag(help: "Three nodes managed by Patroni with a local etcd, synchronous mode on (README: High availability).") var ha = false
        @OptionGroup var monitoring: MonitoringOptions
        @Option(help: "With --monitoring: a Tessera server for Prometheus to scrape, host:port (repeatable; default 127.0.0.1:8080).")
        var scrape: [String] = []
        @Flag(help: "Print the status as JSON.") var json = false

        func run() async throws {
            let logger = self.options.makeLogger()
            var cluster = self.options.localCluster(logger: logger)
            cluster = LocalCluster(
                configuration: {
                    var configuration = cluster.configuration
                    configuration.replicas = self.replicas
                    configuration.ha = self.ha
                    // pgbouncer in front of the primary, when installed (README: Operating Tessera).
                    configuration.pooler = PoolerSettings()
                    configuration.monitoring = self.monitoring.settings(servers: self.scrape.isEmpty ? ["127.0.0.1:8080"] : self.scrape)
                    return configuration
                }(),
                logger: logger
            )
            let status = try await cluster.up()
            guard let primary = status.primary else { throw ValidationError("The cluster has no primary.") }
            let url = try DatabaseURL.parsed(primary.url)
            _ = try await withPostgresClient(url: url, logger: logger) { client in
                try await Migrator(client: client, logger: logger).migrate()
            }
            try printStatus(status, json: self.json)
        }
    }

    struct Down: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop what `cluster up` started, by pid.")
        @OptionGroup var options: DatabaseOptions
        @Flag(help: "Print the status as JSON.") var json = false

        func run() async throws {
            let status = try await self.options.localCluster(logger: self.options.makeLogger()).down()
            try printStatus(status, json: self.json)
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print what runs where, with connection URLs.")
        @OptionGroup var options: DatabaseOptions
        @Flag(help: "Print the status as JSON, for scripts.") var json = false

        func run() async throws {
            let status = try self.options.localCluster(logger: self.options.makeLogger()).status()
            try printStatus(status, json: self.json)
        }
    }
}

extension ClusterCommand {
    struct Switchover: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "HA cluster: move the primary to another node, planned (by default to the synchronous standby), and wait until it leads."
        )
        @OptionGroup var options: DatabaseOptions
        @Option(help: "The node to lead (node-1, node-2, node-3); default: the synchronous standby.") var to: String?
        @Flag(help: "Print the status as JSON.") var json = false

        func run() async throws {
            let status = try await self.options.localCluster(logger: self.options.makeLogger()).switchover(to: self.to)
            try printStatus(status, json: self.json)
        }
    }

    struct Failover: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "HA cluster: promote a node now, whatever the leader's state, and wait until it leads.")
        @OptionGroup var options: DatabaseOptions
        @Option(help: "The node to promote; default and, in synchronous mode, only choice: the synchronous standby.") var to: String?
        @Flag(help: "Print the status as JSON.") var json = false

        func run() async throws {
            let status = try await self.options.localCluster(logger: self.options.makeLogger()).failover(to: self.to)
            try printStatus(status, json: self.json)
        }
    }
}

func printStatus(_ status: ClusterStatus, json: Bool) throws {
    if json {
        try printJSON(status)
    } else {
        print(status.text)
    }
}

/// A command's `--json` output: pretty, keys sorted, dates in ISO 8601.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
