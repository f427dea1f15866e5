import Foundation

/// The `process_*` series every Prometheus client exports (as the Go and Python clients
/// name them), read from `/proc/self` at each scrape: CPU seconds, resident and virtual
/// memory, open and maximum file descriptors, start time. Linux only; elsewhere, none.
package enum ProcessMetrics {
    package struct Sample: Sendable, Equatable {
        package var cpuSeconds: Double
        package var residentBytes: Double
        package var virtualBytes: Double
        package var openFileDescriptors: Int
        package var maxFileDescriptors: Int
        package var startTimeSeconds: Double
    }

    /// The series in the text format, HELP and TYPE first; nothing when `/proc` cannot be read.
    package static func emit(into buffer: inout [UInt8]) {
        guard let sample = self.sample() else { return }
        let series: [(String, String, String, String)] = [
            ("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", Self.number(sample.cpuSeconds)),
            ("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", Self.number(sample.residentBytes)),
            ("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", Self.number(sample.virtualBytes)),
            ("process_open_fds", "gauge", "Number of open file descriptors.", String(sample.openFileDescriptors)),
            ("process_max_fds", "gauge", "Maximum number of open file descriptors.", String(sample.maxFileDescriptors)),
            ("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", Self.number(sample.startTimeSeconds)),
        ]
        for (name, type, help, value) in series {
            buffer.append(contentsOf: Array("# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n".utf8))
        }
    }

    package static func sample() -> Sample? {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let bootTime = Self.bootTime()
        else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        // After the command name (in parentheses, which may hold spaces): field 3 onwards.
        guard let close = stat.lastIndex(of: ")"), ticks > 0 else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state): utime 14, stime 15, starttime 22, vsize 23, rss 24.
        func field(_ number: Int) -> Double? { fields.count > number - 3 ? Double(fields[number - 3]) : nil }
        guard let user = field(14), let system = field(15), let start = field(22), let virtual = field(23), let resident = field(24) else {
            return nil
        }
        var limit = rlimit()
        let maxFiles = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 ? Int(clamping: limit.rlim_cur) : 0
        let openFiles = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        return Sample(
            cpuSeconds: (user + system) / ticks,
            residentBytes: resident * pageSize,
            virtualBytes: virtual,
            openFileDescriptors: openFiles,
            maxFileDescriptors: maxFiles,
            startTimeSeconds: bootTime + start / ticks
        )
    }

    /// The system's boot time (`btime` of `/proc/stat`), in seconds since the epoch.
    static func bootTime() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
