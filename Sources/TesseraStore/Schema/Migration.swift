import Crypto
import Foundation
import TesseraCore

/// One versioned SQL migration, shipped as a resource file `NNNN_name.sql`.
package struct Migration: Sendable, Equatable {
    package var version: Int
    package var name: String
    package var sql: String

    package init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// SHA-256 of the file's text, hex: an applied migration must never change.
    package var checksum: String {
        SHA256.hash(data: Array(self.sql.utf8)).map { byte in
            (byte < 16 ? "0" : "") + String(byte, radix: 16)
        }.joined()
    }

    /// The migrations that ship with this build, in version order.
    package static func bundled() throws -> [Migration] {
        guard let folder = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
            throw TesseraError(.internalError, "The migrations folder is missing from this build's resources.")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".sql") }
        let migrations = try files.map { file in
            let sql = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            return try Migration(fileName: file, sql: sql)
        }
        return migrations.sorted { $0.version < $1.version }
    }

    /// Reads the version and name from a file name like `0001_schema.sql`.
    package init(fileName: String, sql: String) throws {
        let stem = fileName.hasSuffix(".sql") ? String(fileName.dropLast(4)) : fileName
        let parts = stem.split(separator: "_", maxSplits: 1)
        guard parts.count == 2, let version = Int(parts[0]), version > 0 else {
            throw TesseraError(.internalError, "Migration file '\(fileName)' is not named NNNN_name.sql.")
        }
        self.init(version: version, name: String(parts[1]), sql: sql)
    }
}
