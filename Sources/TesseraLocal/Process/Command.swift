import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs a program to completion and captures its output, optionally as another OS user
/// (through `runuser`, for PostgreSQL, which refuses to run as root).
package struct Command {
    package var executable: String
    package var arguments: [String]
    package var environment: [String: String]
    package var user: String?
    /// Only `environment`, not this process's: for a program that must not inherit a
    /// `PGPASSWORD` or the like (Patroni would hand it to its replicas' connections).
    package var cleanEnvironment: Bool

    package init(executable: String, arguments: [String], environment: [String: String] = [:], user: String? = nil, cleanEnvironment: Bool = false) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.user = user
        self.cleanEnvironment = cleanEnvironment
    }

    package struct Result {
        package var status: Int32
        package var output: String
    }

    struct Failure: Error, CustomStringConvertible {
        var command: String
        var status: Int32
        var output: String
        var description: String {
            "`\(self.command)` exited with status \(self.status): \(self.output.trimmingCharacters(in: .whitespacesAndNewlines).suffix(2_000))"
        }
    }

    /// Runs and returns the exit status and combined stdout and stderr.
    ///
    /// Spawned with `posix_spawn` and reaped with `waitpid`; output goes to a temporary
    /// file, not a pipe, so a daemon the program leaves behind cannot hold us up.
    package func run() throws -> Result {
        let outputPath = NSTemporaryDirectory() + "/tessera-cmd-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).out"
        defer { unlink(outputPath) }
        let pid = try self.spawn(output: outputPath, append: false, newSession: false)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { break }
        }
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let exited = (status & 0x7f) == 0
        return Result(status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), output: output)
    }

    /// Starts a long-running program in a session of its own (a Ctrl-C in the terminal that
    /// ran `tessera` does not reach it), its output appended to `logFile`, and returns its pid
    /// without waiting. For the programs that do not daemonise themselves (Prometheus, the
    /// exporters, pgbouncer in the foreground).
    package func start(logFile: String) throws -> Int32 {
        try self.spawn(output: logFile, append: true, newSession: true)
    }

    private func spawn(output outputPath: String, append: Bool, newSession: Bool) throws -> pid_t {
        var argv = [String]()
        if let user {
            let runuser = FileManager.default.isExecutableFile(atPath: "/sbin/runuser") ? "/sbin/runuser" : "/usr/sbin/runuser"
            argv = [runuser, "-u", user, "--", self.executable] + self.arguments
        } else {
            argv = [self.executable] + self.arguments
        }
        var environment = self.cleanEnvironment ? ["PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"] : ProcessInfo.processInfo.environment
        environment["LC_ALL"] = "C"
        for (key, value) in self.environment { environment[key] = value }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of ours: a daemon started after the server listens (InfluxDB for the
        // benchmark, say) would otherwise keep the server's listening sockets, and its port,
        // for as long as it runs.
        Self.closeFrom?(&actions, 3)

        let cArguments = argv.map { strdup($0) } + [nil]
        let cEnvironment = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for argument in cArguments { free(argument) }
            for variable in cEnvironment { free(variable) }
        }
        // A clean signal state for the child: the calling thread's mask and ignored
        // signals would be inherited (the test runner blocks some), and a daemon that
        // keeps them, as Redis does, would never see our SIGTERM.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if newSession { flags |= Self.spawnSetSID }
        posix_spawnattr_setflags(&attributes, Int16(flags))
        var pid = pid_t()
        let spawned = posix_spawn(&pid, argv[0], &actions, &attributes, cArguments, cEnvironment)
        guard spawned == 0 else {
            throw Failure(command: argv.joined(separator: " "), status: -1, output: String(cString: strerror(spawned)))
        }
        return pid
    }

    /// glibc's `POSIX_SPAWN_SETSID` (2.26 and later): the child calls `setsid()`.
    private static let spawnSetSID: Int32 = 0x80

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), which Swift's
    /// Glibc module does not export; nil on an older C library.
    private static let closeFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    /// Runs and throws unless the program exits with 0.
    @discardableResult
    package func check() throws -> String {
        let result = try self.run()
        guard result.status == 0 else {
            throw Failure(command: ([self.executable] + self.arguments).joined(separator: " "), status: result.status, output: result.output)
        }
        return result.output
    }
}

/// Runs blocking work (child processes, waits) on its own thread, off the concurrency pool.
package func offloaded<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try work() })
        }
        thread.start()
    }
}
