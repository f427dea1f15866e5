import Foundation
import Logging
import Synchronization
import TesseraCore

/// `TESSERA_LOG_FORMAT=json`: one JSON object a line on standard error, for a log shipper
/// (CloudWatch, Loki, Elasticsearch): `ts` (UTC, microseconds), `level`, `label`,
/// `source`, `message`, then each metadata key as a string member (`request.id`,
/// `tenant.id`, `http.status`, …).
package struct JSONLogHandler: LogHandler {
    package var metadata: Logger.Metadata = [:]
    package var metadataProvider: Logger.MetadataProvider?
    package var logLevel: Logger.Level = .info
    let label: String
    let write: @Sendable ([UInt8]) -> Void

    /// A handler writing to standard error.
    package init(label: String, metadataProvider: Logger.MetadataProvider? = nil) {
        self.init(label: label, metadataProvider: metadataProvider, write: JSONLogHandler.standardError)
    }

    /// A handler handing each line (with its newline) to `write`.
    package init(label: String, metadataProvider: Logger.MetadataProvider? = nil, write: @escaping @Sendable ([UInt8]) -> Void) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.write = write
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        var merged = self.metadata
        if let provided = self.metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let given = event.metadata { merged.merge(given) { _, new in new } }
        var members: [(String, JSONValue)] = [
            ("ts", .string(Timestamps.format(micros: Int64((Date().timeIntervalSince1970 * 1_000_000).rounded())))),
            ("level", .string(event.level.rawValue)),
            ("label", .string(self.label)),
            ("source", .string(event.source)),
            ("message", .string(event.message.description)),
        ]
        let reserved: Set = ["ts", "level", "label", "source", "message"]
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            members.append((reserved.contains(key) ? "meta." + key : key, .string(Self.text(value))))
        }
        var line = JSONValue.object(members).jsonBytes
        line.append(UInt8(ascii: "\n"))
        self.write(line)
    }

    static func text(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): convertible.description
        case .array, .dictionary: value.description
        }
    }

    /// Whole lines, one writer at a time, so that concurrent lines never interleave.
    static let lock = Mutex(())
    @Sendable static func standardError(_ line: [UInt8]) {
        Self.lock.withLock { _ in
            line.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = Foundation.write(2, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0, errno == EINTR { continue }
                    if written <= 0 { return }
                    offset += written
                }
            }
        }
    }
}
