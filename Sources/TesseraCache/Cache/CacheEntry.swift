import NIOCore

/// What one cache value holds, as bytes in Redis:
/// `v<version> <lag ms>\n<document>` for a value, `t<version>\n` for a tombstone.
///
/// `version` is the time (µs since 1970) of the database state the value reflects
/// (an entity's projection `updated_at`); a tombstone carries the time of the change
/// that made older values wrong, and keeps them out until it expires.
package struct CacheEntry: Sendable, Equatable {
    package enum Kind: Sendable, Equatable {
        case value(document: ByteBuffer, lagMilliseconds: Int)
        case tombstone
    }

    package var version: Int64
    package var kind: Kind

    package init(version: Int64, kind: Kind) {
        self.version = version
        self.kind = kind
    }

    package var encoded: ByteBuffer {
        var buffer = ByteBuffer()
        switch self.kind {
        case .value(let document, let lag):
            buffer.writeString("v\(self.version) \(lag)\n")
            var document = document
            buffer.writeBuffer(&document)
        case .tombstone:
            buffer.writeString("t\(self.version)\n")
        }
        return buffer
    }

    /// nil for bytes this code did not write.
    package init?(decoding bytes: ByteBuffer) {
        let view = bytes.readableBytesView
        guard let newline = view.firstIndex(of: UInt8(ascii: "\n")), let marker = view.first else { return nil }
        let header = String(decoding: view[view.startIndex..<newline], as: UTF8.self)
        let fields = header.dropFirst().split(separator: " ")
        guard let version = fields.first.flatMap({ Int64($0) }) else { return nil }
        switch marker {
        case UInt8(ascii: "v"):
            guard fields.count == 2, let lag = Int(fields[1]) else { return nil }
            let document = bytes.getSlice(at: bytes.readerIndex + (newline - view.startIndex) + 1, length: view.endIndex - newline - 1) ?? ByteBuffer()
            self.init(version: version, kind: .value(document: document, lagMilliseconds: lag))
        case UInt8(ascii: "t"):
            self.init(version: version, kind: .tombstone)
        default:
            return nil
        }
    }
}
