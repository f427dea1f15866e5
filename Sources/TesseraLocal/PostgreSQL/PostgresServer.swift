import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// One PostgreSQL server of the local cluster: its data directory, started with
/// `pg_ctl` (which detaches it into its own session, so a Ctrl-C in the terminal that
/// ran `tessera` does not reach it) and stopped by signalling its postmaster's pid.
struct PostgresServer {
    enum Role {
        case primary
        /// A streaming replica (hot standby) of the primary on this port.
        case replica(primaryPort: Int)
    }

    var name: String
    var role: Role = .primary
    var dataDirectory: String
    var installation: PostgresInstallation
    var runAs: OSUser?
    var superuser: String
    var password: String
    var settings: String
    /// Appended to `settings`: the WAL archive's, when the cluster keeps backups.
    var extraSettings = ""
    /// Where pg_cron keeps its jobs.
    var databaseName = "tessera"
    var logger: Logger

    var logFile: String { self.dataDirectory + ".log" }

    /// Initialises the data directory if needed, writes the settings and starts the
    /// server unless it runs already. Returns the port it listens on.
    func start(preferredPort: Int?) throws -> Int {
        let exists = FileManager.default.fileExists(atPath: self.dataDirectory + "/PG_VERSION")
        if case .replica(let primaryPort) = self.role {
            // A new clone gets a new slot: an old one may be invalidated (past max_slot_wal_keep_size).
            if !exists {
                try self.superuserSQL(
                    port: primaryPort,
                    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '\(self.slotName)' AND NOT active"
                )
            }
            try self.superuserSQL(
                port: primaryPort,
                "SELECT pg_create_physical_replication_slot('\(self.slotName)', true) WHERE NOT EXISTS "
                    + "(SELECT 1 FROM pg_replication_slots WHERE slot_name = '\(self.slotName)')"
            )
        }
        if !exists {
            switch self.role {
            case .primary: try self.initialise()
            case .replica(let primaryPort): try self.cloneFromPrimary(port: primaryPort)
            }
        }
        try self.writeSettings()
        if case .replica(let primaryPort) = self.role {
            try self.writeReplicaSettings(primaryPort: primaryPort)
        }
        if Self.runningPID(dataDirectory: self.dataDirectory) != nil, let port = self.configuredPort() {
            self.logger.info("PostgreSQL already running", metadata: ["component": "\(self.name)", "port": "\(port)"])
            return port
        }
        let port = try Ports.reuse(preferredPort)
        try self.writePort(port)
        // A restored data directory replays the archived WAL before it takes writes.
        let recovering = FileManager.default.fileExists(atPath: self.dataDirectory + "/recovery.signal")
        let result = try Command(
            executable: self.installation.tool("pg_ctl"),
            arguments: ["-D", self.dataDirectory, "-l", self.logFile, "-w", "-t", recovering ? "3600" : "120", "start"],
            user: self.runAs?.name
        ).run()
        guard result.status == 0 else {
            throw LocalClusterError.commandFailed("PostgreSQL (\(self.name)) did not start: \(result.output)\n\(self.logTail())")
        }
        if recovering {
            try self.waitForPromotion(port: port)
        }
        self.logger.info("PostgreSQL started", metadata: ["component": "\(self.name)", "port": "\(port)"])
        return port
    }

    /// Restarts the server when a setting written since it started needs a restart
    /// (`shared_preload_libraries`, `archive_mode`): the file is reloaded, then asked.
    func restartIfSettingsNeedIt(port: Int) throws {
        // A new session reports the postmaster's load time: once it moves, the file was read.
        let before =
            try self.superuserSQL(port: port, "SELECT pg_conf_load_time()::text || '|' || pg_reload_conf()::text")
            .trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "|").first.map(String.init) ?? ""
        let deadline = Date().addingTimeInterval(5)
        while try self.superuserSQL(port: port, "SELECT pg_conf_load_time()::text").trimmingCharacters(in: .whitespacesAndNewlines) == before,
            Date() < deadline
        {
            Thread.sleep(forTimeInterval: 0.02)
        }
        let pending = try self.superuserSQL(port: port, "SELECT string_agg(name, ', ') FROM pg_settings WHERE pending_restart")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if !pending.isEmpty {
            self.logger.notice("Settings changed that need a restart", metadata: ["component": "\(self.name)", "settings": "\(pending)"])
            try self.restart()
        }
    }

    /// pg_cron and pg_partman in `database` when installed (superuser only: neither is a trusted
    /// extension), with what `tessera_owner` needs to run pg_partman's maintenance as itself
    /// (partitions stay its own), and the hourly job that runs `partition_maintenance()`
    /// (migration 0023). Returns which of the two are there.
    @discardableResult
    func installMaintenanceExtensions(port: Int, database: String) throws -> (cron: Bool, partman: Bool) {
        var cron = false
        var partman = false
        if self.installation.hasExtension("pg_partman") {
            try self.superuserSQL(
                port: port,
                database: database,
                """
                CREATE SCHEMA IF NOT EXISTS partman;
                CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman;
                GRANT ALL ON SCHEMA partman TO tessera_owner;
                GRANT ALL ON ALL TABLES IN SCHEMA partman TO tessera_owner;
                GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA partman TO tessera_owner;
                GRANT EXECUTE ON ALL PROCEDURES IN SCHEMA partman TO tessera_owner
                """
            )
            partman = true
        }
        let preloaded = try self.superuserSQL(port: port, "SHOW shared_preload_libraries")
        if self.installation.hasLibrary("pg_cron"), preloaded.contains("pg_cron"), database == self.databaseName {
            try self.superuserSQL(
                port: port,
                database: database,
                """
                CREATE EXTENSION IF NOT EXISTS pg_cron;
                SELECT cron.schedule('tessera-partitions', '7 * * * *', 'SELECT public.partition_maintenance()')
                """
            )
            cron = true
        }
        return (cron, partman)
    }

    /// Restarts a running server (fast shutdown), for settings that need it (`archive_mode`).
    func restart() throws {
        self.logger.notice("Restarting PostgreSQL for settings that need a restart", metadata: ["component": "\(self.name)"])
        let result = try Command(
            executable: self.installation.tool("pg_ctl"),
            arguments: ["-D", self.dataDirectory, "-l", self.logFile, "-w", "-t", "120", "-m", "fast", "restart"],
            user: self.runAs?.name
        ).run()
        guard result.status == 0 else {
            throw LocalClusterError.commandFailed("PostgreSQL (\(self.name)) did not restart: \(result.output)\n\(self.logTail())")
        }
    }

    /// Waits until a restored server has replayed the WAL to its target and promoted itself
    /// (it accepts reads before that, once consistent); fails when it stops instead, as it
    /// does when the archive ends before the target.
    private func waitForPromotion(port: Int) throws {
        let deadline = Date().addingTimeInterval(3_600)
        while Date() < deadline {
            if Self.runningPID(dataDirectory: self.dataDirectory) == nil {
                throw LocalClusterError.commandFailed("PostgreSQL (\(self.name)) stopped during recovery:\n\(self.logTail())")
            }
            if let answer = try? self.superuserSQL(port: port, "SELECT pg_is_in_recovery()"), answer.trimmingCharacters(in: .whitespacesAndNewlines) == "f" {
                return
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        throw LocalClusterError.startTimedOut(component: self.name, logFile: self.logFile)
    }

    private func logTail() -> String {
        (try? String(contentsOfFile: self.logFile, encoding: .utf8))?.split(separator: "\n").suffix(15).joined(separator: "\n") ?? ""
    }

    private func initialise() throws {
        let parent = (self.dataDirectory as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        self.runAs?.own(parent)
        let passwordFile = parent + "/.initdb-password"
        FileManager.default.createFile(atPath: passwordFile, contents: Data(self.password.utf8), attributes: [.posixPermissions: 0o600])
        self.runAs?.own(passwordFile)
        defer { try? FileManager.default.removeItem(atPath: passwordFile) }
        self.logger.info("Initialising PostgreSQL data directory", metadata: ["data.dir": "\(self.dataDirectory)"])
        try Command(
            executable: self.installation.tool("initdb"),
            arguments: [
                "-D", self.dataDirectory, "-U", self.superuser, "--pwfile=\(passwordFile)",
                "--auth-host=scram-sha-256", "--auth-local=peer", "--locale=C", "--encoding=UTF8", "--no-instructions",
            ],
            user: self.runAs?.name
        ).check()
        let configPath = self.dataDirectory + "/postgresql.conf"
        let include = "\ninclude_if_exists = 'tessera.conf'\ninclude_if_exists = 'tessera-port.conf'\ninclude_if_exists = 'tessera-replica.conf'\n"
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: configPath))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(include.utf8))
        try handle.close()
    }

    /// The physical replication slot this replica streams through: the primary keeps
    /// the WAL the replica has not received, so a replica that was down or behind
    /// when the cluster stopped catches up at the next start instead of finding its
    /// next segment removed (up to `max_slot_wal_keep_size`).
    var slotName: String {
        "tessera_" + String(self.name.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    /// Runs one statement in the `postgres` database of the server on `port`, as the cluster's superuser.
    @discardableResult
    func superuserSQL(port: Int, database: String = "postgres", _ sql: String) throws -> String {
        try Command(
            executable: self.installation.tool("psql"),
            arguments: ["-h", "127.0.0.1", "-p", "\(port)", "-U", self.superuser, "-d", database, "-tAc", sql],
            environment: ["PGPASSWORD": self.password, "PGCONNECT_TIMEOUT": "10"]
        ).check()
    }

    /// Drops the idle slots of replicas this cluster no longer runs (`up` with fewer
    /// replicas than before), so they stop holding WAL and vacuum back.
    func dropReplicationSlots(port: Int, keeping names: [String]) throws {
        let kept = names.map { "'\($0)'" }.joined(separator: ", ")
        try self.superuserSQL(
            port: port,
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE 'tessera\\_replica\\_%' AND NOT active"
                + (kept.isEmpty ? "" : " AND slot_name NOT IN (\(kept))")
        )
    }

    /// A new replica's data: a base backup of the primary, streaming the WAL it needs through its slot.
    private func cloneFromPrimary(port: Int) throws {
        let parent = (self.dataDirectory as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        self.runAs?.own(parent)
        self.logger.info("Cloning a replica from the primary", metadata: ["component": "\(self.name)", "data.dir": "\(self.dataDirectory)"])
        try Command(
            executable: self.installation.tool("pg_basebackup"),
            arguments: [
                "-h", "127.0.0.1", "-p", "\(port)", "-U", self.superuser, "-D", self.dataDirectory, "-X", "stream", "-S", self.slotName, "--checkpoint=fast",
            ],
            environment: ["PGPASSWORD": self.password],
            user: self.runAs?.name
        ).check()
        let configPath = self.dataDirectory + "/postgresql.conf"
        let config = (try? String(contentsOfFile: configPath, encoding: .utf8)) ?? ""
        if !config.contains("tessera-replica.conf") {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: configPath))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data("\ninclude_if_exists = 'tessera-replica.conf'\n".utf8))
            try handle.close()
        }
    }

    /// Standby mode, and where the primary is (its port may change between runs).
    private func writeReplicaSettings(primaryPort: Int) throws {
        try self.writeOwned(self.dataDirectory + "/standby.signal", "")
        let conninfo = "host=127.0.0.1 port=\(primaryPort) user=\(self.superuser) password=\(self.password) application_name=\(self.name)"
        try self.writeOwned(
            self.dataDirectory + "/tessera-replica.conf",
            "primary_conninfo = '\(conninfo)'\nprimary_slot_name = '\(self.slotName)'\nhot_standby_feedback = on\n"
        )
    }

    func writeSettings() throws {
        try self.writeOwned(
            self.dataDirectory + "/tessera.conf",
            Self.settingsText(self.settings + self.extraSettings, installation: self.installation, database: self.databaseName)
        )
    }

    /// The profile's settings with the preloaded libraries, pgaudit's and pg_cron's, of those installed.
    static func settingsText(_ base: String, installation: PostgresInstallation, database: String) -> String {
        var settings = base
        settings += PostgresSettings.preload(["pg_stat_statements", "pgaudit", "pg_cron"].filter(installation.hasLibrary))
        if installation.hasLibrary("pgaudit") { settings += PostgresSettings.audit }
        if installation.hasLibrary("pg_cron") { settings += PostgresSettings.cron(database: database) }
        return settings
    }

    private func writePort(_ port: Int) throws {
        try self.writeOwned(self.dataDirectory + "/tessera-port.conf", "port = \(port)\n")
    }

    private func configuredPort() -> Int? {
        guard let text = try? String(contentsOfFile: self.dataDirectory + "/tessera-port.conf", encoding: .utf8) else { return nil }
        return text.split(separator: "=").last.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    private func writeOwned(_ path: String, _ text: String) throws {
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        self.runAs?.own(path)
    }

    /// Creates the database unless it exists.
    func createDatabase(_ database: String, port: Int) throws {
        let exists = try self.superuserSQL(port: port, "SELECT 1 FROM pg_database WHERE datname = '\(database.replacingOccurrences(of: "'", with: "''"))'")
        if exists.trimmingCharacters(in: .whitespacesAndNewlines) == "1" { return }
        try Command(
            executable: self.installation.tool("createdb"),
            arguments: ["-h", "127.0.0.1", "-p", "\(port)", "-U", self.superuser, database],
            environment: ["PGPASSWORD": self.password, "PGCONNECT_TIMEOUT": "10"]
        ).check()
    }

    /// The roles of migration 0013 (README: Security), made unless they exist:
    /// `tessera_owner`, which owns the schema (no login: the superuser migrates as a
    /// member of it), and `tessera_app`, which the server logs in as: no superuser, no
    /// BYPASSRLS, owns nothing. Its password is (re)set to `appPassword`, with pgaudit's
    /// logging off for this session so that the password stays out of the server's log.
    func ensureRoles(port: Int, appPassword: String) throws {
        try self.superuserSQL(
            port: port,
            """
            SET pgaudit.log TO 'none';
            DO $$ BEGIN
                IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tessera_owner') THEN CREATE ROLE tessera_owner NOLOGIN; END IF;
                IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tessera_app') THEN
                    CREATE ROLE tessera_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
                END IF;
            END $$;
            -- health_check() (the owner's) reads replicas' lag and every session's state.
            GRANT pg_monitor TO tessera_owner;
            ALTER ROLE tessera_app PASSWORD '\(appPassword.replacingOccurrences(of: "'", with: "''"))'
            """
        )
    }

    /// The postmaster's pid from `postmaster.pid`, if that process is alive.
    static func runningPID(dataDirectory: String) -> Int32? {
        guard let text = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8),
            let first = text.split(separator: "\n").first, let pid = Int32(first.trimmingCharacters(in: .whitespaces)),
            ProcessControl.isAlive(pid)
        else { return nil }
        return pid
    }

    /// Fast shutdown (SIGINT): active transactions roll back, then a clean stop.
    /// Escalates to an immediate shutdown (SIGQUIT) if it lingers.
    static func stop(dataDirectory: String, name: String, logger: Logger) throws {
        guard let pid = self.runningPID(dataDirectory: dataDirectory) else { return }
        logger.info("Stopping PostgreSQL", metadata: ["component": "\(name)", "pid": "\(pid)"])
        ProcessControl.signal(pid, SIGINT)
        if ProcessControl.waitForExit(pid, timeout: 60) { return }
        logger.warning("PostgreSQL did not stop in 60 s; sending SIGQUIT", metadata: ["component": "\(name)", "pid": "\(pid)"])
        ProcessControl.signal(pid, SIGQUIT)
        if !ProcessControl.waitForExit(pid, timeout: 15) {
            throw LocalClusterError.commandFailed("PostgreSQL (\(name), pid \(pid)) did not stop.")
        }
    }
}
