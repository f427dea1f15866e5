import Foundation
import NIOCore

/// A folder where a server that stops before its acknowledged batches were seen flushed
/// (its database away for the whole drain) leaves them: one file a batch, the exact COPY
/// text staged, tagged with its batch id. The next start on the same folder holds them
/// again and the flusher settles each: confirmed flushed, or lost and staged again (the
/// crash replay's check), so a batch is stored once whichever happened.
package struct UnflushedSpool: Sendable {
    package let directory: String

    package init(directory: String) {
        self.directory = directory
    }

    private func path(_ id: Int64) -> String { self.directory + "/batch-\(id).copy" }

    /// Writes each batch's file (atomically: a half-written file is never read as a batch).
    package func keep(_ batches: [ReplayLog.Batch]) throws {
        try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
        for batch in batches {
            let data = Data(batch.data.readableBytesView)
            try data.write(to: URL(fileURLWithPath: self.path(batch.id)), options: .atomic)
        }
    }

    /// The batches left by an earlier run, by id, and the files too old to settle: after
    /// 24 h the database forgets which batches were flushed (the flushed records are pruned),
    /// so a batch spooled 20 h ago or more is left for an operator, never staged again
    /// blindly (it could bring back values written over since).
    package func load(maximumAge: Duration = .seconds(20 * 3_600)) throws -> (batches: [(id: Int64, data: ByteBuffer)], stale: [String]) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: self.directory) else { return ([], []) }
        var batches = [(id: Int64, data: ByteBuffer)]()
        var stale = [String]()
        let oldest = Date().addingTimeInterval(-Double(maximumAge.components.seconds))
        for name in names.sorted() where name.hasPrefix("batch-") && name.hasSuffix(".copy") {
            guard let id = Int64(name.dropFirst(6).dropLast(5)) else { continue }
            let path = self.directory + "/" + name
            let written = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
            if let written, written < oldest {
                stale.append(path)
                continue
            }
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            batches.append((id, ByteBuffer(bytes: data)))
        }
        return (batches, stale)
    }

    /// Forgets these batches (flushed, seen so by the flusher).
    package func remove(_ ids: some Sequence<Int64>) {
        for id in ids { try? FileManager.default.removeItem(atPath: self.path(id)) }
    }
}
