import Foundation
import Logging

/// One node of the HA cluster: Patroni (Debian's `patroni` 3.0) managing a PostgreSQL 15 in
/// `<directory>/data`, its REST API on `restPort`, PostgreSQL on `port`, its configuration in
/// `<directory>/patroni.yml`. Patroni runs as the PostgreSQL user with no environment of ours:
/// a `PGPASSWORD` it inherited would reach its replicas' connections and break them.
struct PatroniNode {
    var name: String
    var directory: String
    var port: Int
    var restPort: Int
    var scope: String
    var etcdPort: Int
    var installation: PostgresInstallation
    var superuser: String
    var password: String
    var settings: PatroniSettings
    /// `postgresql.conf` lines of Tessera's (the profile's tuning, preload libraries), a file
    /// Patroni's own configuration includes.
    var postgresSettings: String
    var runAs: OSUser?
    var logger: Logger

    var dataDirectory: String { self.directory + "/data" }
    var logFile: String { self.directory + ".log" }

    static func locate() -> String? { MonitoredProcess.locate("patroni") }

    /// Starts Patroni (which initialises, or clones, and starts PostgreSQL) unless it runs.
    func start(executable: String) throws {
        try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
        self.runAs?.own(self.directory)
        try self.writeOwned(self.directory + "/tessera.conf", self.postgresSettings)
        try self.writeOwned(self.directory + "/patroni.yml", self.configuration)
        let process = self.process(executable: executable)
        _ = try process.start(preferredPort: self.restPort, currentPort: MonitoredProcess.runningPID(directory: self.directory) == nil ? nil : self.restPort)
    }

    func process(executable: String) -> MonitoredProcess {
        let file = self.directory + "/patroni.yml"
        return MonitoredProcess(
            name: self.name,
            executable: executable,
            arguments: { _ in [file] },
            environment: ["LANG": "C.UTF-8", "HOME": self.directory],
            user: self.runAs?.name,
            cleanEnvironment: true,
            directory: self.directory,
            logger: self.logger
        )
    }

    /// SIGTERM to Patroni, which stops PostgreSQL first; PostgreSQL itself if it outlived it.
    static func stop(directory: String, name: String, logger: Logger) throws {
        MonitoredProcess.stop(directory: directory, name: name, patience: 40, logger: logger)
        try PostgresServer.stop(dataDirectory: directory + "/data", name: name, logger: logger)
    }

    private func writeOwned(_ path: String, _ text: String) throws {
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        self.runAs?.own(path)
    }

    /// Patroni's YAML. JSON is YAML: every value quoted by the encoder.
    var configuration: String {
        func quoted(_ text: String) -> String {
            "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        let user = quoted(self.superuser)
        let password = quoted(self.password)
        return """
            # Written by tessera cluster up --ha; edits are overwritten at the next start.
            scope: \(quoted(self.scope))
            namespace: "/service/"
            name: \(quoted(self.name))
            log: {level: WARNING}
            restapi: {listen: "127.0.0.1:\(self.restPort)", connect_address: "127.0.0.1:\(self.restPort)"}
            etcd3: {host: "127.0.0.1:\(self.etcdPort)"}
            bootstrap:
              dcs:
                ttl: \(self.settings.ttl)
                loop_wait: \(self.settings.loopWait)
                retry_timeout: \(self.settings.retryTimeout)
                maximum_lag_on_failover: 1048576
                synchronous_mode: true
                synchronous_mode_strict: false
                postgresql:
                  use_pg_rewind: true
                  use_slots: true
                  parameters: {wal_level: replica, hot_standby: "on", wal_log_hints: "on", max_wal_senders: 10, max_replication_slots: 10, wal_keep_size: 256MB}
              initdb: [{encoding: UTF8}, {locale: C}, data-checksums, {auth-host: scram-sha-256}, {auth-local: peer}]
            postgresql:
              listen: "127.0.0.1:\(self.port)"
              connect_address: "127.0.0.1:\(self.port)"
              data_dir: \(quoted(self.dataDirectory))
              bin_dir: \(quoted(self.installation.binDirectory))
              pgpass: \(quoted(self.directory + "/pgpass"))
              custom_conf: \(quoted(self.directory + "/tessera.conf"))
              use_unix_socket: false
              use_unix_socket_repl: false
              pg_hba:
                - local all all peer
                - host replication \(user) 127.0.0.1/32 scram-sha-256
                - host all all 127.0.0.1/32 scram-sha-256
              authentication:
                superuser: {username: \(user), password: \(password)}
                replication: {username: \(user), password: \(password)}
                rewind: {username: \(user), password: \(password)}
            tags: {nofailover: false, noloadbalance: false, clonefrom: false, nosync: false}

            """
    }
}
