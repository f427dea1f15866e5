import Foundation

/// What an archived month's file holds, written beside it as `<file>.manifest.json`: enough to
/// check the file (its SHA-256 and size) and the rows a restore must find again (their count and
/// the order-independent checksum of `partition_checksum()`), and to read it without Tessera
/// (PostgreSQL's COPY text format, gzip-compressed, the columns in this order).
package struct ArchiveManifest: Codable, Sendable, Equatable {
    /// "YYYY-MM".
    package var month: String
    package var table: String
    /// The month's range, [from, to), RFC 3339 UTC.
    package var from: String
    package var to: String
    package var rows: Int64
    package var checksum: String
    package var sha256: String
    package var bytes: Int64
    /// The schema migration the rows were exported at.
    package var schemaVersion: Int
    package var format: String
    package var columns: [String]
    package var file: String
    package var exportedAt: String

    package static let format = "postgresql-copy-text+gzip"

    static func path(for file: String) -> String { file + ".manifest.json" }

    func write(beside file: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(self).write(to: URL(fileURLWithPath: Self.path(for: file)), options: .atomic)
    }

    static func read(beside file: String) throws -> ArchiveManifest {
        guard let data = FileManager.default.contents(atPath: Self.path(for: file)) else {
            throw LocalClusterError.commandFailed("The archive's manifest \(Self.path(for: file)) is missing.")
        }
        return try JSONDecoder().decode(ArchiveManifest.self, from: data)
    }
}
