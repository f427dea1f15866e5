import Foundation

/// Where this machine's PostgreSQL 15 server binaries are.
package struct PostgresInstallation: Sendable {
    package var binDirectory: String

    package func tool(_ name: String) -> String { self.binDirectory + "/" + name }

    /// Whether a loadable module (`pgaudit`, say) is installed beside these binaries
    /// (Debian: `/usr/lib/postgresql/15/lib/<name>.so`).
    func hasLibrary(_ name: String) -> Bool {
        let libraries = (self.binDirectory as NSString).deletingLastPathComponent + "/lib/"
        return FileManager.default.fileExists(atPath: libraries + name + ".so")
    }

    /// Whether an extension's control file is installed (Debian: `/usr/share/postgresql/15/extension`;
    /// elsewhere `<bin>/../share/extension`, or `<bin>/../share/postgresql/extension`).
    func hasExtension(_ name: String) -> Bool {
        let prefix = (self.binDirectory as NSString).deletingLastPathComponent
        var folders = [prefix + "/share/extension", prefix + "/share/postgresql/extension"]
        if prefix.hasPrefix("/usr/lib/postgresql/") {
            folders.insert("/usr/share/postgresql/" + (prefix as NSString).lastPathComponent + "/extension", at: 0)
        }
        return folders.contains { FileManager.default.fileExists(atPath: $0 + "/" + name + ".control") }
    }

    /// `TESSERA_PG_BINDIR` when given, else Debian's versioned folder, else `pg_config --bindir`.
    package static func locate(override: String? = nil) throws -> PostgresInstallation {
        var candidates = [String]()
        if let override, !override.isEmpty { candidates.append(override) }
        candidates.append("/usr/lib/postgresql/15/bin")
        if let fromConfig = try? Command(executable: "/usr/bin/pg_config", arguments: ["--bindir"]).check() {
            candidates.append(fromConfig.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        for candidate in candidates
        where ["postgres", "initdb", "pg_ctl"].allSatisfy({
            FileManager.default.isExecutableFile(atPath: candidate + "/" + $0)
        }) {
            return PostgresInstallation(binDirectory: candidate)
        }
        throw LocalClusterError.postgresNotInstalled(searched: candidates)
    }
}
