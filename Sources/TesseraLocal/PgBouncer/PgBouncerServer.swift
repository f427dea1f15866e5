import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The local cluster's connection pooler (the RDS Proxy of the local cluster): Debian's
/// pgbouncer 1.18 in front of the primary, in transaction pooling, on 127.0.0.1. Clients
/// log in with their PostgreSQL roles and passwords (SCRAM, from `userlist.txt`); many
/// client connections share a few server connections.
///
/// pgbouncer refuses to run as root: as root it runs as the PostgreSQL user, and its
/// folder is in the PostgreSQL data root. It daemonises (`-d`) and writes a pidfile.
struct PgBouncerServer {
    var name = "pgbouncer"
    var directory: String
    var executable: String
    var primaryPort: Int
    /// Role → password, for `userlist.txt`.
    var users: [String: String]
    var settings: PoolerSettings
    var runAs: OSUser?
    var logger: Logger

    var logFile: String { self.directory + "/pgbouncer.log" }
    var configFile: String { self.directory + "/pgbouncer.ini" }
    var authFile: String { self.directory + "/userlist.txt" }
    static func pidFile(directory: String) -> String { directory + "/pgbouncer.pid" }

    static func locate() -> String? {
        ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer", "/usr/local/bin/pgbouncer"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Writes the configuration and starts pgbouncer unless it runs already; returns its
    /// port once it accepts connections.
    func start(preferredPort: Int?) throws -> Int {
        try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
        self.runAs?.own(self.directory)
        if let pid = Self.runningPID(directory: self.directory), let port = preferredPort {
            // The users' passwords or the primary's port may have changed: reload.
            try self.writeConfiguration(port: port)
            ProcessControl.signal(pid, SIGHUP)
            self.logger.info("pgbouncer already running", metadata: ["component": "\(self.name)", "port": "\(port)"])
            return port
        }
        var port = try Ports.reuse(preferredPort)
        for attempt in 1...3 {
            try self.writeConfiguration(port: port)
            try? FileManager.default.removeItem(atPath: Self.pidFile(directory: self.directory))
            let result = try Command(executable: self.executable, arguments: ["-d", self.configFile], user: self.runAs?.name).run()
            guard result.status == 0 else {
                throw LocalClusterError.commandFailed("pgbouncer did not start: \(result.output)\n\(self.logTail())")
            }
            let started = Date()
            while Date().timeIntervalSince(started) < 20 {
                let pid = Self.runningPID(directory: self.directory)
                if pid != nil, !Ports.isFree(port) {
                    self.logger.info("pgbouncer started", metadata: ["component": "\(self.name)", "port": "\(port)"])
                    return port
                }
                if pid == nil, Date().timeIntervalSince(started) > 2 { break }
                usleep(20_000)
            }
            guard attempt < 3, self.logTail().contains("Address already in use") else {
                throw LocalClusterError.commandFailed("pgbouncer did not start; the end of \(self.logFile):\n\(self.logTail())")
            }
            port = try Ports.free()
        }
        preconditionFailure("the loop returns or throws")
    }

    private func writeConfiguration(port: Int) throws {
        let users = self.users.sorted { $0.key < $1.key }.map { "\"\($0.key)\" \"\($0.value.replacingOccurrences(of: "\"", with: "\"\""))\"" }
        try self.write(users.joined(separator: "\n") + "\n", to: self.authFile, mode: 0o600)
        let text = """
            ; Written by tessera cluster up; edits are overwritten at the next start.
            [databases]
            * = host=127.0.0.1 port=\(self.primaryPort)

            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = \(port)
            unix_socket_dir =
            auth_type = scram-sha-256
            auth_file = \(self.authFile)
            pool_mode = transaction
            max_client_conn = \(self.settings.maxClientConnections)
            default_pool_size = \(self.settings.poolSize)
            reserve_pool_size = \(self.settings.reservePoolSize)
            max_db_connections = \(self.settings.maxServerConnections)
            server_reset_query =
            ignore_startup_parameters = extra_float_digits
            admin_users = \(self.users.keys.sorted().first { $0 != "tessera_app" } ?? "")
            stats_users = \(self.users.keys.sorted().joined(separator: ", "))
            logfile = \(self.logFile)
            pidfile = \(Self.pidFile(directory: self.directory))
            log_connections = 0
            log_disconnections = 0

            """
        try self.write(text, to: self.configFile, mode: 0o600)
    }

    private func write(_ text: String, to path: String, mode: Int) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: mode]) else {
            throw LocalClusterError.commandFailed("Could not write \(path)")
        }
        self.runAs?.own(path)
    }

    private func logTail() -> String {
        (try? String(contentsOfFile: self.logFile, encoding: .utf8))?.split(separator: "\n").suffix(15).joined(separator: "\n") ?? ""
    }

    /// The daemon's pid from its pidfile, if that process is alive and is a pgbouncer.
    static func runningPID(directory: String) -> Int32? {
        guard let text = try? String(contentsOfFile: self.pidFile(directory: directory), encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
            ProcessControl.isAlive(pid)
        else { return nil }
        if let commandLine = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
            !String(decoding: commandLine, as: UTF8.self).contains("pgbouncer")
        {
            return nil
        }
        return pid
    }

    /// SIGTERM: pgbouncer 1.18 shuts down at once (its SIGINT waits for every client to
    /// finish); SIGKILL if it lingers.
    static func stop(directory: String, name: String, logger: Logger) {
        guard let pid = self.runningPID(directory: directory) else { return }
        logger.info("Stopping pgbouncer", metadata: ["component": "\(name)", "pid": "\(pid)"])
        ProcessControl.signal(pid, SIGTERM)
        if !ProcessControl.waitForExit(pid, timeout: 10) {
            ProcessControl.signal(pid, SIGKILL)
            _ = ProcessControl.waitForExit(pid, timeout: 5)
        }
    }
}

/// The pooler's sizes (pgbouncer's own names in parentheses).
package struct PoolerSettings: Sendable, Equatable {
    /// Client connections it accepts (`max_client_conn`).
    package var maxClientConnections: Int
    /// Server connections per database and role (`default_pool_size`).
    package var poolSize: Int
    /// More per pool when clients wait over 5 s (`reserve_pool_size`).
    package var reservePoolSize: Int
    /// Server connections per database, whatever the role (`max_db_connections`).
    package var maxServerConnections: Int

    package init(maxClientConnections: Int = 2_000, poolSize: Int = 40, reservePoolSize: Int = 10, maxServerConnections: Int = 120) {
        self.maxClientConnections = maxClientConnections
        self.poolSize = poolSize
        self.reservePoolSize = reservePoolSize
        self.maxServerConnections = maxServerConnections
    }
}
