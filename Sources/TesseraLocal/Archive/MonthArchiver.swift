import Foundation
import Logging
import TesseraCore

/// Archival of cold months (README: Data lifecycle and backups): a month's partition of
/// `entity_values_ts` exported to a gzip-compressed COPY file with a manifest in the archive
/// folder, then dropped; and put back, the same rows, from that file. Driven through `psql`
/// (its `\copy` streams the rows between the database and a local file), as the role that
/// owns the schema (the local cluster's superuser, or a member of `tessera_owner`).
///
/// The month is fenced first (`archived_months`, state `archiving`): servers refuse its points
/// within `settle`, the points already staged for it are flushed, then it is exported and,
/// once the partition is found unchanged under a lock, dropped in the same transaction that
/// records the archive.
package struct MonthArchiver: Sendable {
    package struct Entry: Sendable, Codable {
        package var month: String
        /// `archived`, `archiving` (an export in progress, or one that stopped half-way:
        /// run it again), `in database` (a past month's partition, not archived), or `packed`
        /// (in the database, its points packed: `MonthArchiver+Packing`).
        package var state: String
        package var rows: Int64?
        package var bytes: Int64?
        package var location: String?
    }

    let url: DatabaseURL
    let directory: String
    let installation: PostgresInstallation
    /// How long servers take to learn of a fenced month (their `archived_months` cache).
    let settle: Duration
    let logger: Logger

    package init(url: DatabaseURL, directory: String, binDirectory: String? = nil, settle: Duration = .seconds(6), logger: Logger) throws {
        self.url = url
        self.directory = URL(fileURLWithPath: directory).standardizedFileURL.path
        self.installation = try PostgresInstallation.locate(override: binDirectory)
        self.settle = settle
        self.logger = logger
        guard !self.directory.contains(where: { "\"'`$\\\n".contains($0) }) else {
            throw LocalClusterError.commandFailed("The archive folder's path may not hold quotes, `$`, backslashes or newlines: \(self.directory)")
        }
    }

    /// The archived months and the past months still in the database, oldest first.
    package func list() throws -> [Entry] {
        let output = try self.sql(
            """
            SELECT to_char(month, 'YYYY-MM'), state, coalesce(row_count::text, ''), coalesce(file_bytes::text, ''), coalesce(location, '')
              FROM archived_months
            UNION ALL
            SELECT to_char(to_date(substr(c.relname, 19), 'YYYYMM'), 'YYYY-MM'),
                   CASE WHEN m.month IS NULL THEN 'in database' ELSE 'packed' END,
                   (greatest(c.reltuples, 0)::bigint + coalesce(m.points, 0))::text,
                   (pg_total_relation_size(c.oid) + coalesce(m.bytes, 0))::text, ''
              FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
              LEFT JOIN LATERAL (
                  SELECT pm.month, pm.points, (SELECT sum(\(Self.packBytes)) FROM entity_values_packed p WHERE p.month = pm.month) AS bytes
                    FROM packed_months pm WHERE pm.month = to_date(substr(c.relname, 19), 'YYYYMM')::timestamp AT TIME ZONE 'UTC') AS m ON true
             WHERE i.inhparent = 'entity_values_ts'::regclass
               AND c.relname ~ '^entity_values_ts_p[0-9]{6}$'
               AND to_date(substr(c.relname, 19), 'YYYYMM') < date_trunc('month', now() AT TIME ZONE 'UTC')
             ORDER BY 1
            """
        )
        return output.split(separator: "\n").compactMap { line in
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard cells.count == 5 else { return nil }
            return Entry(
                month: cells[0],
                state: cells[1],
                rows: Int64(cells[2]),
                bytes: Int64(cells[3]),
                location: cells[4].isEmpty ? nil : cells[4]
            )
        }
    }

    /// The past months in the database whose month began `months` or more months before now's.
    package func months(olderThan months: Int) throws -> [String] {
        try self.months(olderThan: months, in: ["in database", "packed"])
    }

    /// The months in one of `states` whose month began `months` or more months before now's.
    func months(olderThan months: Int, in states: Set<String>) throws -> [String] {
        Set(try self.list().filter { states.contains($0.state) }.map(\.month)).sorted().filter { month in
            guard let index = Self.monthIndex(month) else { return false }
            let now = Timestamps.civilFromDays(Int(Date().timeIntervalSince1970 / 86_400))
            return index <= now.year * 12 + now.month - 1 - months
        }
    }

    /// Exports `month` ("YYYY-MM", before the current one) and drops its partition.
    @discardableResult
    package func export(_ month: String) throws -> ArchiveManifest {
        let (start, end, table) = try Self.parse(month)
        let current = try self.sql("SELECT \(Self.literal(start))::date < date_trunc('month', now() AT TIME ZONE 'UTC')::date")
        guard current == "t" else { throw LocalClusterError.commandFailed("\(month) is the current month or later: only past months are archived.") }
        let state = try self.sql("SELECT state FROM archived_months WHERE month = \(Self.literal(start))")
        guard state != "archived" else { throw LocalClusterError.commandFailed("\(month) is archived already (`tessera archive list`).") }
        guard try self.sql("SELECT to_regclass(\(Self.literal(table))) IS NOT NULL") == "t" else {
            throw LocalClusterError.commandFailed("\(month) has no partition in the database (nothing was written then, or retention dropped it).")
        }
        // The fence, and this run's claim on the month: a second export of it stops here.
        let claimed = try self.sql(
            "INSERT INTO archived_months (month, state) VALUES (\(Self.literal(start)), 'archiving') ON CONFLICT (month) DO NOTHING RETURNING 1"
        )
        guard claimed == "1" else {
            let since = try self.sql(
                "SELECT to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM archived_months WHERE month = \(Self.literal(start))"
            )
            throw LocalClusterError.commandFailed(
                "An export of \(month) began at \(since) and has not finished: another run, or one that stopped half-way. "
                    + "If none runs, `tessera archive cancel \(month)` lifts its fence."
            )
        }
        let file = self.directory + "/" + table + ".copy.gz"
        let temporary = file + ".partial-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
            // Servers learn of the fence, then what they staged for the month is flushed.
            Thread.sleep(forTimeInterval: Double(self.settle.components.seconds) + Double(self.settle.components.attoseconds) / 1e18)
            try self.waitUntilNothingStaged(from: start, to: end)
            // A packed month's points become rows again: the file holds rows (migration 0027).
            _ = try self.sql("SELECT unpack_month(\(Self.literal(start)))")
            let sums = try self.sql("SELECT row_count || '|' || checksum FROM partition_checksum(\(Self.literal(table)))").split(separator: "|")
            guard sums.count == 2, let rows = Int64(sums[0]) else { throw LocalClusterError.commandFailed("Could not count \(table)'s rows.") }
            let checksum = String(sums[1])
            try self.psql(script: "\\copy (SELECT * FROM \(table)) TO PROGRAM 'gzip -c > \"\(temporary)\"'\n")
            let lines = try Command(executable: "/bin/sh", arguments: ["-c", "gzip -dc \"\(temporary)\" | wc -l"]).check()
            guard Int64(lines.trimmingCharacters(in: .whitespacesAndNewlines)) == rows else {
                throw LocalClusterError.commandFailed("The exported file holds \(lines.trimmingCharacters(in: .whitespacesAndNewlines)) rows, not \(rows).")
            }
            let manifest = ArchiveManifest(
                month: month,
                table: table,
                from: start + "T00:00:00Z",
                to: end + "T00:00:00Z",
                rows: rows,
                checksum: checksum,
                sha256: try Self.sha256(temporary),
                bytes: Int64((try FileManager.default.attributesOfItem(atPath: temporary)[.size] as? NSNumber)?.int64Value ?? 0),
                schemaVersion: Int(try self.sql("SELECT max(version) FROM schema_migrations")) ?? 0,
                format: ArchiveManifest.format,
                columns: try self.columns().split(separator: ",").map(String.init),
                file: (file as NSString).lastPathComponent,
                exportedAt: ISO8601DateFormatter().string(from: Date())
            )
            try manifest.write(beside: file)
            try? FileManager.default.removeItem(atPath: file)
            try FileManager.default.moveItem(atPath: temporary, toPath: file)
            // Dropped only if nothing changed since the count: the partition locked against
            // writers (a retention batch, an erasure), counted again, nothing staged for it.
            try self.psql(
                script: """
                    SET lock_timeout = '5s';
                    LOCK TABLE \(table) IN SHARE MODE;
                    DO $$ BEGIN
                        IF EXISTS (SELECT 1 FROM entity_values_ingest WHERE ts >= \(Self.literal(start))::timestamptz AND ts < \(Self.literal(end))::timestamptz) THEN
                            RAISE EXCEPTION 'points of the month were staged during the export; run it again';
                        END IF;
                        IF (SELECT row(row_count, checksum) FROM partition_checksum(\(Self.literal(table)))) IS DISTINCT FROM row(\(rows)::bigint, \(Self.literal(checksum))::text) THEN
                            RAISE EXCEPTION 'the partition changed during the export; run it again';
                        END IF;
                    END $$;
                    DROP TABLE \(table);
                    UPDATE archived_months
                       SET state = 'archived', location = \(Self.literal(file)), row_count = \(rows), checksum = \(Self.literal(checksum)),
                           file_sha256 = \(Self.literal(manifest.sha256)), file_bytes = \(manifest.bytes), schema_version = \(manifest.schemaVersion),
                           archived_at = now()
                     WHERE month = \(Self.literal(start));

                    """,
                singleTransaction: true
            )
            self.logger.info("Archived a month", metadata: ["month": "\(month)", "rows": "\(rows)", "file": "\(file)"])
            return manifest
        } catch {
            // The fence goes: the month takes points again, as before.
            _ = try? self.sql("DELETE FROM archived_months WHERE month = \(Self.literal(start)) AND state = 'archiving'")
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
    }

    /// Lifts the fence of an export that stopped half-way (state `archiving`): the month takes
    /// points again. An archived month is not touched (restore it instead).
    package func cancel(_ month: String) throws {
        let (start, _, _) = try Self.parse(month)
        let lifted = try self.sql("DELETE FROM archived_months WHERE month = \(Self.literal(start)) AND state = 'archiving' RETURNING 1")
        guard lifted == "1" else { throw LocalClusterError.commandFailed("No export of \(month) is under way (`tessera archive list`).") }
    }

    /// Puts an archived month back: the file checked against its manifest, its rows loaded into
    /// a new partition and checked against the manifest's count and checksum, attached, and the
    /// month taken off `archived_months`, in one transaction. The file stays in the folder.
    @discardableResult
    package func restore(_ month: String) throws -> ArchiveManifest {
        let (start, end, table) = try Self.parse(month)
        let location = try self.sql("SELECT location FROM archived_months WHERE month = \(Self.literal(start)) AND state = 'archived'")
        guard !location.isEmpty else { throw LocalClusterError.commandFailed("\(month) is not archived (`tessera archive list`).") }
        let manifest = try ArchiveManifest.read(beside: location)
        guard try Self.sha256(location) == manifest.sha256 else {
            throw LocalClusterError.commandFailed("\(location) does not match its manifest's SHA-256: the file is damaged.")
        }
        let columns = try self.columns()
        guard columns == manifest.columns.joined(separator: ",") else {
            throw LocalClusterError.commandFailed(
                "The series table's columns changed since \(month) was archived (schema version \(manifest.schemaVersion)): "
                    + "the file holds \(manifest.columns.joined(separator: ", ")), the table has \(columns.replacingOccurrences(of: ",", with: ", ")). "
                    + "Nothing was restored."
            )
        }
        try self.psql(
            script: """
                SET ROLE tessera_owner;
                CREATE TABLE \(table) (LIKE entity_values_ts INCLUDING ALL EXCLUDING INDEXES);
                \\copy \(table) FROM PROGRAM 'gzip -dc "\(location)"'
                DO $$ BEGIN
                    IF (SELECT row(row_count, checksum) FROM partition_checksum(\(Self.literal(table)))) IS DISTINCT FROM row(\(manifest.rows)::bigint, \(Self.literal(manifest.checksum))::text) THEN
                        RAISE EXCEPTION 'the archive''s rows do not match its manifest';
                    END IF;
                END $$;
                ALTER TABLE entity_values_ts ATTACH PARTITION \(table) FOR VALUES FROM (\(Self.literal(start + " 00:00:00+00"))) TO (\(Self.literal(end + " 00:00:00+00")));
                DELETE FROM archived_months WHERE month = \(Self.literal(start));

                """,
            singleTransaction: true
        )
        self.logger.info("Restored an archived month", metadata: ["month": "\(month)", "rows": "\(manifest.rows)"])
        return manifest
    }

    private func waitUntilNothingStaged(from start: String, to end: String) throws {
        let deadline = Date().addingTimeInterval(60)
        while try self.sql(
            "SELECT EXISTS (SELECT 1 FROM entity_values_ingest WHERE ts >= \(Self.literal(start))::timestamptz AND ts < \(Self.literal(end))::timestamptz)"
        ) == "t" {
            guard Date() < deadline else {
                throw LocalClusterError.commandFailed("Points of the month stayed staged for 60 s (is the servers' flush running?); nothing was archived.")
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
    }

    /// "YYYY-MM" → its first day, the next month's first day, and its partition.
    static func parse(_ month: String) throws -> (start: String, end: String, table: String) {
        guard let index = Self.monthIndex(month) else {
            throw LocalClusterError.commandFailed("'\(month)' is not a month: write it YYYY-MM, e.g. 2026-10.")
        }
        func day(_ index: Int) -> String {
            let year = String(index / 12)
            let number = String(index % 12 + 1)
            return String(repeating: "0", count: max(0, 4 - year.count)) + year + "-" + (number.count == 1 ? "0" : "") + number + "-01"
        }
        let start = day(index)
        return (start, day(index + 1), "entity_values_ts_p" + start.prefix(7).replacingOccurrences(of: "-", with: ""))
    }

    static func monthIndex(_ month: String) -> Int? {
        let parts = month.split(separator: "-")
        guard parts.count == 2, parts[0].count == 4, parts[1].count == 2, let year = Int(parts[0]), let number = Int(parts[1]), (1...12).contains(number)
        else { return nil }
        return year * 12 + number - 1
    }

    static func literal(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }

    package static func sha256(_ path: String) throws -> String {
        let output = try Command(executable: "/usr/bin/sha256sum", arguments: [path]).check()
        return String(output.prefix(while: { !$0.isWhitespace }))
    }

    /// The series table's columns in order, comma-separated: what a file holds and a restore needs.
    private func columns() throws -> String {
        try self.sql(
            "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'entity_values_ts'::regclass AND attnum > 0 AND NOT attisdropped"
        )
    }

    /// One statement's rows, unaligned (`|` between cells), trimmed.
    @discardableResult
    func sql(_ statement: String) throws -> String {
        try Command(executable: self.installation.tool("psql"), arguments: self.connection + ["-tAc", statement], environment: self.environment)
            .check().trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func psql(script: String, singleTransaction: Bool = false) throws {
        let path = NSTemporaryDirectory() + "tessera-archive-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sql"
        FileManager.default.createFile(atPath: path, contents: Data(script.utf8), attributes: [.posixPermissions: 0o600])
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Command(
            executable: self.installation.tool("psql"),
            arguments: self.connection + (singleTransaction ? ["-1"] : []) + ["-f", path],
            environment: self.environment
        ).check()
    }

    private var connection: [String] {
        ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.url.host, "-p", "\(self.url.port)", "-U", self.url.username, "-d", self.url.database]
    }

    private var environment: [String: String] {
        var environment = ["PGPASSWORD": self.url.password ?? "", "PGSSLMODE": self.url.tls.rawValue, "PGCONNECT_TIMEOUT": "10", "PGTZ": "UTC"]
        if let root = self.url.rootCertificate { environment["PGSSLROOTCERT"] = root }
        return environment
    }
}
