import AsyncHTTPClient
import Foundation
import Logging
import TesseraLocal

/// InfluxDB for one `bench all` run: started from Debian's `influxd` in the bench
/// folder, watched (killed past a memory limit: one query can exhaust the machine),
/// stopped by pid at the end. nil when influxd is not installed.
struct InfluxSession {
    let peer: InfluxPeer
    let version: String
    let directory: String
    private let watchdog: Task<Bool, Never>
    private let logger: Logger

    static func start(
        directory: String,
        http: HTTPClient,
        memoryLimitBytes: Int,
        fullCompactionAfterSeconds: Int? = nil,
        logger: Logger
    ) async throws -> InfluxSession? {
        guard let executable = InfluxServer.locate() else {
            print("InfluxDB: influxd is not installed (Debian package `influxdb`); its column stays empty.")
            return nil
        }
        let server = InfluxServer(directory: directory, executable: executable, logger: logger, fullCompactionAfterSeconds: fullCompactionAfterSeconds)
        // start() blocks (minutes when it reopens a big dataset): off the concurrency pool.
        let port = try await offloaded { try server.start() }
        guard let pid = InfluxServer.runningPID(directory: directory) else { throw ValidationErrorText("influxd started but left no pid") }
        var version = "1.x"
        if let ping = try? await http.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/ping"), timeout: .seconds(5)),
            let header = ping.headers.first(name: "X-Influxdb-Version")
        {
            version = header
        }
        let watchdog = InfluxPeer.watch(pid: pid, limitBytes: memoryLimitBytes, every: .milliseconds(250))
        return InfluxSession(peer: InfluxPeer(http: http, port: port), version: version, directory: directory, watchdog: watchdog, logger: logger)
    }

    /// The bytes of its data and WAL folders.
    var bytesOnDisk: Int64 { AllBenchStorage.folderBytes(self.directory + "/data") + AllBenchStorage.folderBytes(self.directory + "/wal") }

    /// Waits until the folders keep their size for three looks 5 s apart (its compactions
    /// done), at most `limit`; returns the bytes then.
    func bytesOnceSettled(limit: Duration) async throws -> Int64 {
        let started = ContinuousClock.now
        var last = self.bytesOnDisk
        var unchanged = 0
        while unchanged < 3, ContinuousClock.now - started < limit {
            try await Task.sleep(for: .seconds(5))
            let now = self.bytesOnDisk
            unchanged = now == last ? unchanged + 1 : 0
            last = now
        }
        return last
    }

    /// True once the watchdog killed influxd for its memory.
    var wasKilled: Bool { InfluxServer.runningPID(directory: self.directory) == nil }

    func stop() async {
        self.watchdog.cancel()
        let killed = await self.watchdog.value
        if killed { print("InfluxDB was killed by the memory watchdog during the run.") }
        try? InfluxServer.stop(directory: self.directory, logger: self.logger)
    }
}
