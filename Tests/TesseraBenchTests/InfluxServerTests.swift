import Foundation
import TesseraLocal
import TesseraTestSupport
import Testing
import tessera_bench

/// InfluxDB 1.x, the benchmark's peer, for real: started in its own folder, asked over
/// HTTP, stopped. Skipped (and shown as skipped) where influxd is not installed.
@Suite struct InfluxServerTests {
    @Test(.enabled(if: InfluxServer.locate() != nil, "influxd is not installed (apt-get install influxdb)"))
    func startsAnswersPingAndStops() throws {
        let executable = try #require(InfluxServer.locate())
        let directory = NSTemporaryDirectory() + "tessera-influx-test-\(UUID().uuidString.prefix(8))"
        defer {
            try? InfluxServer.stop(directory: directory, logger: quietLogger)
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: directory + ".log")
        }
        let server = InfluxServer(directory: directory, executable: executable, logger: quietLogger)
        let port = try server.start()
        let pid = try #require(InfluxServer.runningPID(directory: directory))
        let base = "http://127.0.0.1:\(port)"
        #expect(try self.curl("-i", base + "/ping").hasPrefix("HTTP/1.1 204"))
        // Without credentials it takes a line and answers InfluxQL.
        try self.curl("-XPOST", base + "/query", "--data-urlencode", "q=CREATE DATABASE probe")
        let write = try self.curl(
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-XPOST",
            base + "/write?db=probe&precision=u",
            "--data-binary",
            "t0,entity=dev-5 a0=1.5 1700000000000000"
        )
        #expect(write == "204")
        let last = try self.curl(
            "-G",
            base + "/query",
            "--data-urlencode",
            "db=probe",
            "--data-urlencode",
            "q=SELECT last(a0) FROM t0 WHERE entity = 'dev-5'"
        )
        #expect(last.contains(#""columns":["time","last"],"values":[["2023-11-14T22:13:20Z",1.5]]"#))
        #expect((InfluxServer.residentBytes(pid: pid) ?? 0) > 1 << 20)
        // As root it runs as Debian's unprivileged user.
        if ProcessControl.isRoot, let user = getpwnam("influxdb") {
            let status = String(decoding: FileManager.default.contents(atPath: "/proc/\(pid)/status") ?? Data(), as: UTF8.self)
            #expect(status.contains("Uid:\t\(user.pointee.pw_uid)\t"))
        }
        // `start` on a running server changes nothing.
        #expect(try server.start() == port)
        #expect(InfluxServer.runningPID(directory: directory) == pid)

        try InfluxServer.stop(directory: directory, logger: quietLogger)
        #expect(!ProcessControl.isAlive(pid))
        #expect(InfluxServer.runningPID(directory: directory) == nil)
        #expect(!InfluxServer.ping(port: port))
        // Stopping a stopped server is harmless.
        try InfluxServer.stop(directory: directory, logger: quietLogger)
    }

    /// Plain `curl` (URLSession is not dependable on Linux); its output, headers included with `-i`.
    @discardableResult
    private func curl(_ arguments: String...) throws -> String {
        try Command(executable: "/usr/bin/curl", arguments: ["-s", "--max-time", "10"] + arguments).check()
    }
}
