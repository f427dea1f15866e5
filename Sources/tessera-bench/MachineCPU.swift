import Foundation

/// The whole machine's busy CPU, read from `/proc/stat`: what one system's writes cost the
/// cores, counted until the machine is quiet again. A system's rate alone hides work it
/// leaves for later (InfluxDB answers a write once it is in its WAL and compacts after),
/// and work left running overlaps the next system's run; `accounted` starts each run on a
/// quiet machine and charges a system for everything until the machine is quiet again.
package struct MachineCPU: Sendable {
    /// The quiet machine's own busy cores (servers idling, heartbeats, a replica): a run is
    /// charged only what it adds above this.
    struct Quiet: Sendable {
        var cores: Double
        var waited: Double
        /// False when `limit` passed first: the machine was still busy with something else.
        var reached = true
    }

    /// What one run cost: the CPU seconds above quiet, and whether the machine was quiet
    /// before and after it (when not, the seconds may hold other work, or miss some).
    package struct Charge: Sendable, Equatable {
        package var seconds: Double
        package var settled: Bool

        package init(seconds: Double, settled: Bool = true) {
            self.seconds = seconds
            self.settled = settled
        }
    }

    var threshold = 0.35
    var window = Duration.seconds(3)
    var limit = Duration.seconds(120)

    /// A smoke run (`--smoke`, in `make test`) waits a second at most: its figures mean
    /// nothing, and a busy machine must not stretch it by minutes.
    init(smoke: Bool = false) {
        if smoke {
            self.window = .milliseconds(500)
            self.limit = .seconds(1)
        }
    }

    /// Busy seconds of every core since boot (user, nice, system, irq, softirq; idle, iowait
    /// and steal are not busy), or nil where there is no `/proc/stat`.
    static func busySeconds() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        return self.busySeconds(procStat: text)
    }

    /// The busy seconds of `/proc/stat`'s first line (the sum over cores), in USER_HZ ticks of 1/100 s.
    package static func busySeconds(procStat: String) -> Double? {
        guard let line = procStat.split(separator: "\n").first, line.hasPrefix("cpu ") else { return nil }
        let ticks = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard ticks.count >= 7 else { return nil }
        // user nice system idle iowait irq softirq [steal guest guest_nice]; guest is inside user.
        let busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6]
        return busy / 100
    }

    /// Waits until the machine's busy cores over one `window` are below `threshold`, at most
    /// `limit`; answers the last window's busy cores and the seconds waited.
    func settle() async -> Quiet {
        let started = ContinuousClock.now
        while true {
            guard let before = Self.busySeconds() else { return Quiet(cores: 0, waited: 0) }
            let from = ContinuousClock.now
            try? await Task.sleep(for: self.window)
            guard let after = Self.busySeconds() else { return Quiet(cores: 0, waited: 0) }
            let cores = (after - before) / (ContinuousClock.now - from).benchSeconds
            let waited = (ContinuousClock.now - started).benchSeconds
            if cores < self.threshold || ContinuousClock.now - started >= self.limit {
                return Quiet(cores: cores, waited: waited, reached: cores < self.threshold)
            }
        }
    }

    /// Runs `body` on a quiet machine, waits for quiet again, and answers `body`'s result
    /// with the CPU seconds the machine spent above its quiet level from the start of `body`
    /// until quiet again (nil without `/proc/stat`); the charge says whether both waits for
    /// quiet ended in quiet rather than at `limit`.
    func accounted<T>(_ name: String, _ body: () async throws -> T) async rethrows -> (T, Charge?) {
        let before = await self.settle()
        let started = ContinuousClock.now
        let busyBefore = Self.busySeconds()
        let result = try await body()
        let after = await self.settle()
        guard let busyBefore, let busyAfter = Self.busySeconds() else { return (result, nil) }
        let seconds = (ContinuousClock.now - started).benchSeconds
        let settled = before.reached && after.reached
        let spent = max(0, busyAfter - busyBefore - min(before.cores, self.threshold) * seconds)
        print(
            "    \(name): \(String(format: "%.1f", spent)) CPU s above quiet (\(String(format: "%.2f", before.cores)) cores) until quiet again, "
                + "\(String(format: "%.0f", before.waited)) s waited for quiet before, \(String(format: "%.0f", after.waited)) s after"
                + (settled ? "" : " (not quiet within \(Int(self.limit.benchSeconds)) s)")
        )
        return (result, Charge(seconds: spent, settled: settled))
    }
}
