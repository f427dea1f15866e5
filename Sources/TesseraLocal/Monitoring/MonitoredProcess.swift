import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// One program of the monitoring stack (Prometheus, an exporter): started in the
/// foreground of a session of its own with `Command.start`, its pid kept in
/// `<directory>/pid`, its output in `<directory>.log`; stopped by signalling that pid.
struct MonitoredProcess {
    var name: String
    var executable: String
    /// Given the port to listen on.
    var arguments: @Sendable (Int) -> [String]
    var environment: [String: String] = [:]
    /// Run as this OS user (Patroni and etcd as PostgreSQL's), with only `environment`.
    var user: String?
    var cleanEnvironment = false
    var directory: String
    var logger: Logger

    var logFile: String { self.directory + ".log" }
    static func pidFile(directory: String) -> String { directory + "/pid" }

    /// `name` on this machine (PATH, then the usual folders), or nil.
    static func locate(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let folders = path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin", "/usr/sbin"]
        return folders.lazy.map { $0 + "/" + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Starts the program unless it runs already; returns its port once it listens.
    func start(preferredPort: Int?, currentPort: Int?) throws -> Int {
        try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
        if Self.runningPID(directory: self.directory) != nil, let currentPort {
            self.logger.info("Already running", metadata: ["component": "\(self.name)", "port": "\(currentPort)"])
            return currentPort
        }
        var port = try Ports.reuse(preferredPort)
        for attempt in 1...3 {
            let pid = try Command(
                executable: self.executable,
                arguments: self.arguments(port),
                environment: self.environment,
                user: self.user,
                cleanEnvironment: self.cleanEnvironment
            ).start(logFile: self.logFile)
            FileManager.default.createFile(atPath: Self.pidFile(directory: self.directory), contents: Data("\(pid)\n".utf8))
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline, ProcessControl.isAlive(pid), Ports.isFree(port) { usleep(50_000) }
            if ProcessControl.isAlive(pid), !Ports.isFree(port) {
                self.logger.info("Started", metadata: ["component": "\(self.name)", "port": "\(port)", "pid": "\(pid)"])
                return port
            }
            Self.stop(directory: self.directory, name: self.name, logger: self.logger)
            guard attempt < 3, self.logTail().contains("address already in use") else {
                throw LocalClusterError.commandFailed("\(self.name) did not start; the end of \(self.logFile):\n\(self.logTail())")
            }
            port = try Ports.free()
        }
        preconditionFailure("the loop returns or throws")
    }

    private func logTail() -> String {
        (try? String(contentsOfFile: self.logFile, encoding: .utf8))?.split(separator: "\n").suffix(15).joined(separator: "\n") ?? ""
    }

    /// The pid in the pidfile, if that process is alive and runs the program it names.
    static func runningPID(directory: String) -> Int32? {
        guard let text = try? String(contentsOfFile: self.pidFile(directory: directory), encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
            ProcessControl.isAlive(pid)
        else { return nil }
        // A pid reused since by an unrelated process is not ours to signal: the program's
        // path names the component (`prometheus-node-exporter` for `node-exporter`).
        let name = (directory as NSString).lastPathComponent
        if let commandLine = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
            !String(decoding: commandLine, as: UTF8.self).contains(name)
        {
            return nil
        }
        return pid
    }

    /// SIGTERM, then SIGKILL if it lingers; reaps it when it is our child.
    static func stop(directory: String, name: String, patience: Double = 15, logger: Logger) {
        guard let pid = self.runningPID(directory: directory) else { return }
        logger.info("Stopping", metadata: ["component": "\(name)", "pid": "\(pid)"])
        ProcessControl.signal(pid, SIGTERM)
        if !ProcessControl.waitForExit(pid, timeout: patience) {
            ProcessControl.signal(pid, SIGKILL)
            _ = ProcessControl.waitForExit(pid, timeout: 5)
        }
        var status: Int32 = 0
        _ = waitpid(pid, &status, WNOHANG)
        try? FileManager.default.removeItem(atPath: self.pidFile(directory: directory))
    }
}
