import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// A batch's rows, in `StagingEncoder`'s COPY text, sent as one `staged_point[]` parameter of
/// an INSERT into `entity_values_ingest` (migration 0031) instead of a `COPY FROM STDIN`.
///
/// PostgresNIO 1.33's COPY traps when its connection is lost while the data is being sent
/// (`ConnectionStateMachine.swift`: "Invalid query state machine action in state: .closing,
/// action: wait"; "Copy mode is only supported for extended queries"): a database killed in
/// the middle of a staging COPY took the whole server down with it (CopyInterruptionTests,
/// and a CI run lost to it). An INSERT is an ordinary extended query, which fails with an
/// error when its connection goes.
///
/// Each line becomes a record of text fields (`\N` a NULL, the COPY escapes undone), and the
/// INSERT casts them with the same input functions COPY uses: a value is refused, with the
/// same SQLSTATE, exactly when COPY refused it. The lines have `StagingEncoder`'s fields, and
/// `ingested_at` after them when the quarantine stages a request again.
struct StagedPoints: PostgresDynamicTypeEncodable {
    /// The OIDs of `staged_point` and `staged_point[]` in one database.
    struct Types: Sendable, Equatable {
        var element: UInt32
        var array: UInt32
    }

    /// The OIDs of one database's `staged_point`, looked up on first use and again after any
    /// failed write (a database restored from a dump has others).
    final class TypeCache: Sendable {
        private let cached = Mutex<Types?>(nil)

        init() {}

        func types(on connection: PostgresConnection, logger: Logger) async throws -> Types {
            if let types = self.cached.withLock({ $0 }) { return types }
            let rows = try await connection.query(
                "SELECT oid::bigint, typarray::bigint FROM pg_type WHERE oid = to_regtype('staged_point')",
                logger: logger
            )
            for try await (element, array) in rows.decode((Int64, Int64).self) {
                let types = Types(element: UInt32(element), array: UInt32(array))
                self.cached.withLock { $0 = types }
                return types
            }
            throw MissingType()
        }

        func forget() {
            self.cached.withLock { $0 = nil }
        }
    }

    /// The database has no `staged_point` (not migrated to 0031).
    struct MissingType: Error, CustomStringConvertible {
        var description: String { "the database has no type staged_point" }
    }

    /// The composite's fields, in order: all text.
    static let fieldCount = 12
    static let textOID: UInt32 = 25

    let text: ByteBuffer
    let types: Types

    var psqlType: PostgresDataType { PostgresDataType(self.types.array) }
    var psqlFormat: PostgresFormat { .binary }

    /// Inserts `data` into `entity_values_ingest` on `connection`.
    static func insert(_ data: ByteBuffer, on connection: PostgresConnection, cache: TypeCache, logger: Logger) async throws {
        let types = try await cache.types(on: connection, logger: logger)
        do {
            try await connection.query(StagingSQL.insertStaged(StagedPoints(text: data, types: types)), logger: logger)
        } catch {
            // Looked up again by the next write: after a failover or a restore the database may
            // be another one (a restored dump's types have other OIDs, and an unknown OID fails
            // as XX000 "cache lookup failed for type", not as a data error). One query a failure.
            cache.forget()
            throw error
        }
    }

    /// The binary `staged_point[]`: a one-dimensional array of records, each of `fieldCount`
    /// text fields.
    func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        let start = buffer.writerIndex
        buffer.writeInteger(Int32(1))  // dimensions
        buffer.writeInteger(Int32(0))  // no NULL element
        buffer.writeInteger(self.types.element)
        let countAt = buffer.writerIndex
        buffer.writeInteger(Int32(0))  // the element count, set below
        buffer.writeInteger(Int32(1))  // lower bound
        var count: Int32 = 0
        self.text.withUnsafeReadableBytes { bytes in
            var lineStart = 0
            while lineStart < bytes.count {
                var lineEnd = lineStart
                while lineEnd < bytes.count, bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
                if lineEnd > lineStart {
                    Self.writeRecord(bytes, from: lineStart, to: lineEnd, into: &buffer)
                    count += 1
                }
                lineStart = lineEnd + 1
            }
        }
        buffer.setInteger(count, at: countAt)
        if count == 0 {
            // An empty array has no dimension.
            buffer.moveWriterIndex(to: start)
            buffer.writeInteger(Int32(0))
            buffer.writeInteger(Int32(0))
            buffer.writeInteger(self.types.element)
        }
    }

    /// One line as a record: its tab-separated fields, the missing ones NULL (the encoders
    /// write 11 or 12 fields a line, never an octal or hex escape; this reads only that).
    private static func writeRecord(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int, into buffer: inout ByteBuffer) {
        let lengthAt = buffer.writerIndex
        buffer.writeInteger(Int32(0))  // the record's length, set below
        buffer.writeInteger(Int32(Self.fieldCount))
        var fieldStart = start
        for _ in 0..<Self.fieldCount {
            buffer.writeInteger(Self.textOID)
            guard fieldStart <= end else {
                buffer.writeInteger(Int32(-1))
                continue
            }
            var fieldEnd = fieldStart
            var escaped = false
            while fieldEnd < end, bytes[fieldEnd] != UInt8(ascii: "\t") {
                if bytes[fieldEnd] == UInt8(ascii: "\\") { escaped = true }
                fieldEnd += 1
            }
            if fieldEnd - fieldStart == 2, bytes[fieldStart] == UInt8(ascii: "\\"), bytes[fieldStart + 1] == UInt8(ascii: "N") {
                buffer.writeInteger(Int32(-1))
            } else if escaped {
                Self.writeUnescaped(bytes, from: fieldStart, to: fieldEnd, into: &buffer)
            } else {
                buffer.writeInteger(Int32(fieldEnd - fieldStart))
                buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[fieldStart..<fieldEnd]))
            }
            fieldStart = fieldEnd + 1
        }
        buffer.setInteger(Int32(buffer.writerIndex - lengthAt - 4), at: lengthAt)
    }

    /// A field with COPY's backslash escapes undone (`\t`, `\n`, `\r`, `\b`, `\f`, `\v`; any
    /// other escaped byte stands for itself, `\\` for a backslash).
    private static func writeUnescaped(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int, into buffer: inout ByteBuffer) {
        let lengthAt = buffer.writerIndex
        buffer.writeInteger(Int32(0))
        var index = start
        while index < end {
            var byte = bytes[index]
            if byte == UInt8(ascii: "\\"), index + 1 < end {
                index += 1
                switch bytes[index] {
                case UInt8(ascii: "t"): byte = 0x09
                case UInt8(ascii: "n"): byte = 0x0A
                case UInt8(ascii: "r"): byte = 0x0D
                case UInt8(ascii: "b"): byte = 0x08
                case UInt8(ascii: "f"): byte = 0x0C
                case UInt8(ascii: "v"): byte = 0x0B
                case let other: byte = other
                }
            }
            buffer.writeInteger(byte)
            index += 1
        }
        buffer.setInteger(Int32(buffer.writerIndex - lengthAt - 4), at: lengthAt)
    }
}
