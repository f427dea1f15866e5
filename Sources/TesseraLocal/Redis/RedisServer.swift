import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The local cluster's Redis: Debian's `redis-server`, a cache only (no persistence),
/// on 127.0.0.1 with a password. It daemonises into its own session (so a Ctrl-C in
/// the terminal that ran `tessera` does not reach it), writes a pidfile, and is
/// stopped by signalling that pid.
///
/// It runs as whoever runs `tessera` (root included: Redis does not refuse it); its
/// folder `<directory>` holds `redis.conf` (with the password, mode 0600) and
/// `redis.pid`; the log is `<directory>.log`.
struct RedisServer {
    var name = "redis"
    var directory: String
    var executable: String
    var password: String
    var settings: String
    var logger: Logger

    var logFile: String { self.directory + ".log" }
    var configFile: String { self.directory + "/redis.conf" }
    static func pidFile(directory: String) -> String { directory + "/redis.pid" }

    /// `redis-server` on this machine, or nil when Redis is not installed.
    static func locate() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let folders = path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin", "/usr/sbin"]
        return folders.lazy.map { $0 + "/redis-server" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Writes the configuration and starts the server unless it runs already.
    /// Returns the port it listens on once it answers PING.
    func start(preferredPort: Int?) throws -> Int {
        try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
        if Self.runningPID(directory: self.directory) != nil, let port = self.configuredPort() {
            self.logger.info("Redis already running", metadata: ["component": "\(self.name)", "port": "\(port)"])
            return port
        }
        var port = try Ports.reuse(preferredPort)
        // A free port may be taken by another process before Redis binds it: then try another.
        for attempt in 1...3 {
            try self.writeConfiguration(port: port)
            try? FileManager.default.removeItem(atPath: Self.pidFile(directory: self.directory))
            let result = try Command(executable: self.executable, arguments: [self.configFile]).run()
            guard result.status == 0 else {
                throw LocalClusterError.commandFailed("Redis did not start: \(result.output)\n\(self.logTail())")
            }
            switch self.waitUntilReady(port: port) {
            case .ready:
                self.logger.info("Redis started", metadata: ["component": "\(self.name)", "port": "\(port)"])
                return port
            case .exited where attempt < 3 && self.logTail().contains("Address already in use"):
                self.logger.notice("Redis' port was taken; trying another", metadata: ["component": "\(self.name)", "port": "\(port)"])
                port = try Ports.free()
            case .exited:
                throw LocalClusterError.commandFailed("Redis exited as it started; the end of \(self.logFile):\n\(self.logTail())")
            case .timedOut:
                throw LocalClusterError.commandFailed(
                    "Redis did not answer PING within 30 s; the end of \(self.logFile):\n\(self.logTail())"
                )
            }
        }
        preconditionFailure("the loop returns or throws")
    }

    private enum Readiness { case ready, exited, timedOut }

    /// Polls with `redis-cli PING` until the server answers (it daemonises before it listens).
    private func waitUntilReady(port: Int) -> Readiness {
        let cli = (self.executable as NSString).deletingLastPathComponent + "/redis-cli"
        let start = Date()
        while Date().timeIntervalSince(start) < 30 {
            let ping = try? Command(
                executable: cli,
                arguments: ["-h", "127.0.0.1", "-p", "\(port)", "PING"],
                environment: ["REDISCLI_AUTH": self.password]
            ).run()
            if ping?.status == 0, ping?.output.contains("PONG") == true { return .ready }
            // The daemon writes its pidfile once it listens, and removes it when it exits.
            if Date().timeIntervalSince(start) > 2, Self.runningPID(directory: self.directory) == nil { return .exited }
            usleep(20_000)
        }
        return .timedOut
    }

    private func writeConfiguration(port: Int) throws {
        let text = """
            # Written by tessera cluster up; edits are overwritten at the next start.
            # (Redis takes no comments at the end of a line.)
            daemonize yes
            pidfile \(Self.pidFile(directory: self.directory))
            logfile \(self.logFile)
            dir \(self.directory)
            # Loopback only, TCP only, with a password.
            bind 127.0.0.1
            port \(port)
            requirepass \(self.password)
            \(self.settings)
            """
        FileManager.default.createFile(atPath: self.configFile, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
    }

    private func configuredPort() -> Int? {
        guard let text = try? String(contentsOfFile: self.configFile, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("port ") {
            return Int(line.dropFirst("port ".count).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    private func logTail() -> String {
        (try? String(contentsOfFile: self.logFile, encoding: .utf8))?.split(separator: "\n").suffix(15).joined(separator: "\n") ?? ""
    }

    /// The server's pid from its pidfile, if that process is alive and is a Redis
    /// (a stale pidfile after a crash may name a pid since reused).
    static func runningPID(directory: String) -> Int32? {
        guard let text = try? String(contentsOfFile: self.pidFile(directory: directory), encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
            ProcessControl.isAlive(pid)
        else { return nil }
        if let commandLine = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
            !String(decoding: commandLine, as: UTF8.self).contains("redis")
        {
            return nil
        }
        return pid
    }

    /// SIGTERM: Redis closes its clients and exits (nothing to save: persistence is off).
    /// Escalates to SIGKILL if it lingers, which loses nothing a cache must keep.
    static func stop(directory: String, name: String, logger: Logger) throws {
        guard let pid = self.runningPID(directory: directory) else { return }
        logger.info("Stopping Redis", metadata: ["component": "\(name)", "pid": "\(pid)"])
        ProcessControl.signal(pid, SIGTERM)
        if ProcessControl.waitForExit(pid, timeout: 15) { return }
        logger.warning("Redis did not stop in 15 s; sending SIGKILL", metadata: ["component": "\(name)", "pid": "\(pid)"])
        ProcessControl.signal(pid, SIGKILL)
        if !ProcessControl.waitForExit(pid, timeout: 5) {
            throw LocalClusterError.commandFailed("Redis (\(name), pid \(pid)) did not stop.")
        }
    }
}
