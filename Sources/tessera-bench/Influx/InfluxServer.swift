import Foundation
import Logging
import TesseraLocal

#if canImport(Glibc)
import Glibc
#endif

/// InfluxDB 1.x (Debian's `influxdb`, 1.6.7) on 127.0.0.1: not part of the cluster, but
/// the peer `tessera-bench all` compares against. Modelled on `RedisServer`: its folder
/// `<directory>` holds `influxdb.conf`, `influxd.pid` and the meta, data and wal folders;
/// the log is `<directory>.log`.
///
/// influxd does not daemonise, so it is started in the background in its own session
/// (a Ctrl-C in the terminal that ran `tessera-bench` does not reach it) and stopped by
/// signalling its pid. When we are root it runs as Debian's `influxdb` user if that user
/// can reach the folder; otherwise as ourselves (influxd does not refuse root).
///
/// Its series limits are off (`max-series-per-database`, `max-values-per-tag` = 0): the
/// benchmark writes a million series. Nothing here bounds its memory or its queries;
/// FIELD-NOTES shows one query passing 20 GB, so a caller must watch `residentBytes`.
package struct InfluxServer: Sendable {
    package var directory: String
    package var executable: String
    var logger: Logger
    /// When set, a shard without writes for this long has its cache written out (after 5 s)
    /// and is compacted fully, instead of after InfluxDB's 10 minutes and 4 hours: a cold
    /// month's bytes as they end up.
    package var fullCompactionAfterSeconds: Int?

    package var logFile: String { self.directory + ".log" }
    var configFile: String { self.directory + "/influxdb.conf" }
    static func pidFile(directory: String) -> String { directory + "/influxd.pid" }

    package init(directory: String, executable: String, logger: Logger, fullCompactionAfterSeconds: Int? = nil) {
        self.directory = directory
        self.executable = executable
        self.logger = logger
        self.fullCompactionAfterSeconds = fullCompactionAfterSeconds
    }

    /// `influxd` on this machine, or nil when InfluxDB is not installed.
    package static func locate() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let folders = path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin", "/usr/sbin"]
        return folders.lazy.map { $0 + "/influxd" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Writes the configuration and starts the server unless it runs already. Returns
    /// the HTTP port once `GET /ping` answers 204 (it takes well under a second).
    /// Blocks while it waits, up to `startTimeout`.
    package func start(preferredPort: Int? = nil) throws -> Int {
        try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
        if Self.runningPID(directory: self.directory) != nil, let port = self.configuredPort() {
            self.logger.info("InfluxDB already running", metadata: ["component": "influxdb", "port": "\(port)"])
            // It may still be opening its shards.
            guard self.waitUntilReady(port: port) == .ready else {
                throw LocalClusterError.commandFailed("InfluxDB runs but did not answer GET /ping within \(Int(Self.startTimeout)) s.")
            }
            return port
        }
        let runAs = self.unprivilegedUser()
        var port = try Ports.reuse(preferredPort)
        // A free port may be taken by another process before influxd binds it: then try another.
        for attempt in 1...3 {
            var rpcPort = try Ports.free()
            while rpcPort == port { rpcPort = try Ports.free() }
            try self.writeConfiguration(httpPort: port, rpcPort: rpcPort)
            if !FileManager.default.fileExists(atPath: self.logFile) {
                FileManager.default.createFile(atPath: self.logFile, contents: nil)
            }
            if let runAs {
                try Command(executable: "/bin/chown", arguments: ["-R", "\(runAs.uid):\(runAs.gid)", self.directory]).check()
                runAs.own(self.logFile)
            }
            let logOffset = (try? FileManager.default.attributesOfItem(atPath: self.logFile)[.size] as? Int) ?? 0
            try? FileManager.default.removeItem(atPath: Self.pidFile(directory: self.directory))
            try self.launch(as: runAs)
            switch self.waitUntilReady(port: port) {
            case .ready:
                self.logger.info(
                    "InfluxDB started",
                    metadata: [
                        "component": "influxdb", "port": "\(port)", "user": "\(runAs?.name ?? "self")",
                    ]
                )
                return port
            case .exited where attempt < 3 && self.logTail(from: logOffset).contains("address already in use"):
                self.logger.notice("InfluxDB's port was taken; trying another", metadata: ["component": "influxdb", "port": "\(port)"])
                port = try Ports.free()
            case .exited:
                throw LocalClusterError.commandFailed(
                    "InfluxDB exited as it started; the end of \(self.logFile):\n\(self.logTail(from: logOffset))"
                )
            case .timedOut:
                throw LocalClusterError.commandFailed(
                    "InfluxDB did not answer GET /ping within \(Int(Self.startTimeout)) s; the end of \(self.logFile):\n\(self.logTail(from: logOffset))"
                )
            }
        }
        preconditionFailure("the loop returns or throws")
    }

    /// Debian's `influxdb` user when we are root and it can reach our folder; nil: ourselves.
    private func unprivilegedUser() -> OSUser? {
        guard ProcessControl.isRoot, let entry = getpwnam("influxdb") else { return nil }
        let user = OSUser(name: "influxdb", uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid)
        guard user.canReach(self.directory) else {
            self.logger.notice(
                "The influxdb user cannot reach the folder; running InfluxDB as root",
                metadata: ["component": "influxdb", "dir": "\(self.directory)"]
            )
            return nil
        }
        return user
    }

    /// `setsid` in a backgrounded child of `sh`: not a group leader, so setsid execs influxd
    /// in place and `$!` is influxd's pid. Paths go in as arguments, never into the script.
    private func launch(as user: OSUser?) throws {
        let setsid = ["/usr/bin/setsid", "/bin/setsid"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "setsid"
        let script = #"\#(setsid) "$1" -config "$2" >> "$3" 2>&1 < /dev/null & echo $! > "$4""#
        let result = try Command(
            executable: "/bin/sh",
            arguments: ["-c", script, "sh", self.executable, self.configFile, self.logFile, Self.pidFile(directory: self.directory)],
            user: user?.name
        ).run()
        guard result.status == 0 else {
            throw LocalClusterError.commandFailed("InfluxDB did not start: \(result.output)")
        }
    }

    private enum Readiness { case ready, exited, timedOut }

    /// Empty, it answers in well under a second; with millions of points it replays its
    /// WAL and loads every series' index before it listens (minutes for 20M points).
    static let startTimeout: TimeInterval = 600

    private func waitUntilReady(port: Int) -> Readiness {
        let start = Date()
        while Date().timeIntervalSince(start) < Self.startTimeout {
            if Self.ping(port: port) { return .ready }
            // A moment after launch the pidfile may not name a live influxd yet (seen under
            // load): only a missing process after 2 s means it exited.
            if Date().timeIntervalSince(start) > 2, Self.runningPID(directory: self.directory) == nil { return .exited }
            usleep(20_000)
        }
        return .timedOut
    }

    private func writeConfiguration(httpPort: Int, rpcPort: Int) throws {
        let folder = { (name: String) in Self.tomlString(self.directory + "/" + name) }
        let compaction =
            self.fullCompactionAfterSeconds.map {
                "\n  cache-snapshot-write-cold-duration = \"5s\"\n  compact-full-write-cold-duration = \"\($0)s\""
            } ?? ""
        let text = """
            # Written by tessera; edits are overwritten at the next start.
            # Debian's build reads `reporting-enabled`, upstream's `reporting-disabled`;
            # influxd ignores keys it does not know, so both are set.
            reporting-enabled = false
            reporting-disabled = true
            # The RPC (backup/restore) listener: loopback, its own port, so two never collide.
            bind-address = "127.0.0.1:\(rpcPort)"

            [meta]
              dir = \(folder("meta"))
              logging-enabled = false

            [data]
              dir = \(folder("data"))
              wal-dir = \(folder("wal"))
              query-log-enabled = false
              # No limits: the benchmark writes a million series (0 = none).
              max-series-per-database = 0
              max-values-per-tag = 0\(compaction)

            [monitor]
              # No `_internal` database written every 10 s beside the benchmark.
              store-enabled = false

            [http]
              enabled = true
              bind-address = "127.0.0.1:\(httpPort)"
              auth-enabled = false
              log-enabled = false
              pprof-enabled = false

            [subscriber]
              enabled = false

            [continuous_queries]
              enabled = false
              log-enabled = false

            [logging]
              level = "warn"
              suppress-logo = true

            """
        guard FileManager.default.createFile(atPath: self.configFile, contents: Data(text.utf8), attributes: [.posixPermissions: 0o644]) else {
            throw LocalClusterError.commandFailed("Could not write \(self.configFile).")
        }
    }

    /// A TOML basic string.
    private static func tomlString(_ value: String) -> String {
        "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// The HTTP port in the written configuration: `bind-address` in `[http]`.
    private func configuredPort() -> Int? {
        guard let text = try? String(contentsOfFile: self.configFile, encoding: .utf8) else { return nil }
        var section = ""
        for line in text.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if line.hasPrefix("[") { section = line }
            if section == "[http]", line.hasPrefix("bind-address"), let colon = line.lastIndex(of: ":") {
                return Int(line[line.index(after: colon)...].filter(\.isNumber))
            }
        }
        return nil
    }

    /// The log written since `offset` (the log is appended to across starts), last 15 lines.
    private func logTail(from offset: Int) -> String {
        guard let data = FileManager.default.contents(atPath: self.logFile) else { return "" }
        let text = String(decoding: data.dropFirst(offset), as: UTF8.self)
        return text.split(separator: "\n").suffix(15).joined(separator: "\n")
    }

    /// Whether `GET /ping` on 127.0.0.1 answers 204, over a plain socket: it is polled from
    /// blocking code, and one request a poll needs no HTTP client. Gives up after a second.
    package static func ping(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var limit = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return false }
        let request = Array("GET /ping HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        guard send(fd, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else { return false }
        var buffer = [UInt8](repeating: 0, count: 128)
        let count = recv(fd, &buffer, buffer.count, 0)
        guard count > 0 else { return false }
        // "HTTP/1.0 204 No Content"
        let statusLine = String(decoding: buffer[..<count], as: UTF8.self).prefix { $0 != "\r" }
        return statusLine.split(separator: " ").dropFirst().first == "204"
    }

    /// The server's pid from its pidfile, if that process is alive and is an influxd
    /// (a stale pidfile after a crash may name a pid since reused).
    package static func runningPID(directory: String) -> Int32? {
        guard let text = try? String(contentsOfFile: self.pidFile(directory: directory), encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
            ProcessControl.isAlive(pid),
            let commandLine = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
            String(decoding: commandLine, as: UTF8.self).contains("influxd")
        else { return nil }
        return pid
    }

    /// SIGTERM: influxd closes its listeners and shards and exits (about 2 s when idle).
    /// Escalates to SIGKILL if it lingers: its WAL is replayed at the next start.
    package static func stop(directory: String, logger: Logger) throws {
        guard let pid = self.runningPID(directory: directory) else { return }
        logger.info("Stopping InfluxDB", metadata: ["component": "influxdb", "pid": "\(pid)"])
        ProcessControl.signal(pid, SIGTERM)
        if !ProcessControl.waitForExit(pid, timeout: 15) {
            logger.warning("InfluxDB did not stop in 15 s; sending SIGKILL", metadata: ["component": "influxdb", "pid": "\(pid)"])
            ProcessControl.signal(pid, SIGKILL)
            guard ProcessControl.waitForExit(pid, timeout: 5) else {
                throw LocalClusterError.commandFailed("InfluxDB (pid \(pid)) did not stop.")
            }
        }
        try? FileManager.default.removeItem(atPath: self.pidFile(directory: directory))
    }

    /// The process's resident memory (`VmRSS` in `/proc/<pid>/status`), nil once it is gone.
    package static func residentBytes(pid: Int32) -> Int? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/status") else { return nil }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix("VmRSS:") {
            // "VmRSS:	   16196 kB"
            guard let kilobytes = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap({ Int($0) }) else {
                return nil
            }
            return kilobytes * 1024
        }
        return nil
    }
}
