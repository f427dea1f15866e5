import Foundation
import PostgresNIO
import TesseraCore
import TesseraTestSupport
import Testing

@testable import TesseraStore

/// `Sources/TesseraStore/Schema/Functions` holds one file per SQL function of a freshly
/// migrated database, with its live definition, so a newcomer reads one file instead of
/// grepping the migrations for the last `CREATE OR REPLACE`. A migration that changes a
/// function updates its file; this test fails until it does (see the folder's README.md).
/// The files are only compared with `pg_get_functiondef()`, never applied.
@Suite struct SchemaFunctionFilesTests {
    /// `Sources/TesseraStore/Schema/Functions`, found from this file's path.
    static let functionsDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Tests/TesseraStoreTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // the package root
        .appendingPathComponent("Sources", isDirectory: true)
        .appendingPathComponent("TesseraStore", isDirectory: true)
        .appendingPathComponent("Schema", isDirectory: true)
        .appendingPathComponent("Functions", isDirectory: true)

    @Test func eachFunctionHasAFileWithItsLiveDefinition() async throws {
        let live = try await Self.liveDefinitions()
        let files = try Self.functionFiles()
        #expect(!live.isEmpty, "the migrated database has no function in schema public")

        // (a) One file per function, by name.
        let missing = live.keys.filter { files[$0] == nil }.sorted().map { $0 + ".sql" }.joined(separator: ", ")
        let extra = files.keys.filter { live[$0] == nil }.sorted().map { $0 + ".sql" }.joined(separator: ", ")
        #expect(
            missing.isEmpty,
            "functions of the migrated database without a file in Sources/TesseraStore/Schema/Functions: \(missing) (write them: see README.md there)"
        )
        #expect(
            extra.isEmpty,
            "files in Sources/TesseraStore/Schema/Functions for functions the migrated database does not have: \(extra) (remove or rename them)"
        )

        // (b) Each file holds the live definition.
        for (name, fileText) in files.sorted(by: { $0.key < $1.key }) {
            guard let definitions = live[name] else { continue }
            guard definitions.allSatisfy({ $0 != nil }) else {
                Issue.record("\(name) is an aggregate: pg_get_functiondef() cannot print it; this test does not cover aggregates yet")
                continue
            }
            let file = Self.fileDefinition(fileText)
            let database = Self.databaseDefinition(definitions.compactMap { $0 })
            if let difference = Self.firstDifference(file.lines, database) {
                let fileLine = file.headerLines + difference.index + 1
                Issue.record(
                    """
                    \(name).sql is stale: it differs from the migrated database's pg_get_functiondef() at line \(fileLine) \
                    of the file (line \(difference.index + 1) of the definition).
                      file:     \(difference.file ?? "<end of the file>")
                      database: \(difference.database ?? "<end of the definition>")
                    Put the database's definition in the file (and update its header): see Sources/TesseraStore/Schema/Functions/README.md.
                    """
                )
            }
        }
    }

    /// Lock keys are named once, in `AdvisoryLock`: a function that takes one uses its number.
    @Test func everyLockKeyInTheFunctionsIsANamedOne() throws {
        let files = try Self.functionFiles()
        let pattern = /7346812\d{3}/
        var used = Set<Int64>()
        for (name, text) in files {
            for match in text.matches(of: pattern) {
                let key = Int64(match.output)!
                #expect(AdvisoryLock.all.contains(key), "\(name).sql takes advisory lock \(key), which AdvisoryLock does not name")
                used.insert(key)
            }
        }
        #expect(files["stage_flush"]?.contains(String(AdvisoryLock.flush)) == true)
        #expect(files["stage_flush"]?.contains(String(AdvisoryLock.deletion)) == true)
        #expect(files["ensure_ts_partitions"]?.contains(String(AdvisoryLock.partitions)) == true)
        #expect(used.isSuperset(of: [AdvisoryLock.partitions, AdvisoryLock.flush, AdvisoryLock.deletion]))
    }

    /// The definitions of the functions (and procedures) in schema `public` of a freshly
    /// migrated database, by name, not counting extensions' own: one a function, several
    /// for overloads (ordered by their arguments); nil for an aggregate.
    static func liveDefinitions() async throws -> [String: [String?]] {
        let url = try await TestCluster.freshDatabase()
        return try await withTestClient(url: url) { client in
            _ = try await Migrator(client: client, logger: quietLogger).migrate()
            let rows = try await client.query(
                """
                SELECT p.proname::text, pg_get_function_identity_arguments(p.oid),
                       CASE WHEN p.prokind = 'a' THEN NULL ELSE pg_get_functiondef(p.oid) END
                  FROM pg_proc AS p
                 WHERE p.pronamespace = 'public'::regnamespace
                   AND NOT EXISTS (SELECT 1 FROM pg_depend AS d
                                    WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
                """
            )
            var overloads = [String: [(arguments: String, definition: String?)]]()
            for try await (name, arguments, definition) in rows.decode((String, String, String?).self) {
                overloads[name, default: []].append((arguments, definition))
            }
            return overloads.mapValues { versions in
                versions.sorted { $0.arguments < $1.arguments }.map { version in version.definition }
            }
        }
    }

    /// The `.sql` files of the functions folder, by name without `.sql`: their text.
    static func functionFiles() throws -> [String: String] {
        let directory = Self.functionsDirectory
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        var files = [String: String]()
        for name in names where name.hasSuffix(".sql") {
            let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            files[String(name.dropLast(".sql".count))] = text
        }
        return files
    }

    /// A file's definition: its lines after the header (the leading `--` and blank
    /// lines), without the final `;`; and how many lines the header took.
    static func fileDefinition(_ text: String) -> (headerLines: Int, lines: [String]) {
        var lines = Self.normalizedLines(text)
        let header = lines.prefix(while: { $0.isEmpty || $0.hasPrefix("--") }).count
        lines.removeFirst(header)
        if let last = lines.last, last.hasSuffix(";") {
            lines[lines.count - 1] = Self.trimmingTrailingWhitespace(last.dropLast())
            while lines.last?.isEmpty == true { lines.removeLast() }
        }
        return (header, lines)
    }

    /// The database's definitions of one name as its file has them: overloads one after
    /// the other, each but the last followed by `;` and a blank line.
    static func databaseDefinition(_ definitions: [String]) -> [String] {
        Self.normalizedLines(definitions.map { Self.normalizedLines($0).joined(separator: "\n") }.joined(separator: ";\n\n"))
    }

    /// The first line at which the two differ (nil for a line one of them lacks), or nil
    /// when they are the same.
    static func firstDifference(_ file: [String], _ database: [String]) -> (index: Int, file: String?, database: String?)? {
        for index in 0..<max(file.count, database.count) {
            let fileLine = index < file.count ? file[index] : nil
            let databaseLine = index < database.count ? database[index] : nil
            if fileLine != databaseLine { return (index, fileLine, databaseLine) }
        }
        return nil
    }

    /// The lines of `text`, each without trailing whitespace, without trailing empty lines.
    static func normalizedLines(_ text: String) -> [String] {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map { Self.trimmingTrailingWhitespace($0) }
        while lines.last?.isEmpty == true { lines.removeLast() }
        return lines
    }

    static func trimmingTrailingWhitespace(_ text: Substring) -> String {
        var end = text.endIndex
        while end > text.startIndex, text[text.index(before: end)].isWhitespace { end = text.index(before: end) }
        return String(text[..<end])
    }

    static func trimmingTrailingWhitespace(_ text: String) -> String {
        Self.trimmingTrailingWhitespace(text[...])
    }
}
