import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Signals and liveness of processes started by the cluster, by pid.
package enum ProcessControl {
    /// Whether the process exists and has not exited. A zombie counts as gone: the
    /// servers daemonise, so their parent is init, and an init that does not reap (a
    /// container's or a microVM's) would otherwise keep them "alive" for a long time.
    package static func isAlive(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        return !self.isZombie(pid)
    }

    /// Linux: the state letter in `/proc/<pid>/stat`, after the parenthesised name.
    private static func isZombie(_ pid: Int32) -> Bool {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return false }
        let text = String(decoding: data, as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return false }
        return text[text.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    /// The pids whose parent is `pid` (from /proc).
    package static func children(of pid: Int32) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap(Int32.init).filter { child in
            guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return false }
            // "pid (comm) state ppid ...": the fields after the command's closing parenthesis.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == pid
        }
    }

    package static func signal(_ pid: Int32, _ signal: Int32) {
        guard pid > 0 else { return }
        _ = kill(pid, signal)
    }

    /// Waits until the process is gone; false if it is still alive after `timeout`.
    package static func waitForExit(_ pid: Int32, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if !self.isAlive(pid) { return true }
            usleep(50_000)
        }
        return !self.isAlive(pid)
    }

    package static var isRoot: Bool { geteuid() == 0 }
}

/// Loopback TCP ports.
package enum Ports {
    /// A port that is free on 127.0.0.1 now, chosen by the kernel.
    package static func free() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw LocalClusterError.noFreePort }
        defer { close(fd) }
        var address = self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw LocalClusterError.noFreePort }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw LocalClusterError.noFreePort }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether nothing listens on the port on 127.0.0.1. Connections of a server that
    /// just died (TIME_WAIT) do not count: PostgreSQL binds with SO_REUSEADDR too.
    static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var reuse: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = self.loopback(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return bound == 0
    }

    /// The port a component had before, once it is free (waiting up to `patience` for a
    /// dead server's socket to go), else a new one. Clients were told the old port: a
    /// server that comes back elsewhere leaves their pools waiting for it.
    package static func reuse(_ previous: Int?, patience: Duration = .seconds(10)) throws -> Int {
        guard let previous else { return try self.free() }
        let deadline = ContinuousClock.now + patience
        while !self.isFree(previous) {
            guard ContinuousClock.now < deadline else { return try self.free() }
            usleep(200_000)
        }
        return previous
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}
