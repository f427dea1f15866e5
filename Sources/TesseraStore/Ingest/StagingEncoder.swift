import NIOCore
import TesseraCore

/// Rows in PostgreSQL's COPY text format for `entity_values_ingest`: tab-separated,
/// `\N` for NULL, backslash escapes in text. The fields of a line, in order: tenant_id,
/// entity_id, attribute_id, value_int, value_decimal, value_text, value_bool, value_ts,
/// value_json, ts, batch_id (the order of `staged_point`, which `StagedPoints` sends).
package enum StagingEncoder {
    /// The rows of one batch as both write paths stage them: a point written twice keeps
    /// its later value (`rows` in arrival order), sorted by key so the flush's inserts
    /// walk the indexes in order.
    package static func prepare(_ rows: [IngestRow]) -> [IngestRow] {
        // The standard library's sort is stable: a point's copies stay in arrival order,
        // next to each other, and the last of each run is the one kept.
        let sorted = rows.sorted(by: Self.keyOrder)
        var kept = [IngestRow]()
        kept.reserveCapacity(sorted.count)
        for index in sorted.indices where index + 1 == sorted.count || !Self.samePoint(sorted[index], sorted[index + 1]) {
            kept.append(sorted[index])
        }
        return kept
    }

    private static func samePoint(_ a: IngestRow, _ b: IngestRow) -> Bool {
        a.tenantID == b.tenantID && a.entityID == b.entityID && a.attributeID == b.attributeID && a.timestamp == b.timestamp
    }

    /// The runs of one tenant's rows in `prepare`'s order (sorted by tenant first): each
    /// staged as a batch of its own.
    package static func tenantRuns(_ sorted: [IngestRow]) -> [(tenant: Int64, rows: Range<Int>)] {
        var runs = [(tenant: Int64, rows: Range<Int>)]()
        var start = 0
        for index in sorted.indices where index + 1 == sorted.count || sorted[index + 1].tenantID != sorted[index].tenantID {
            runs.append((sorted[index].tenantID, start..<(index + 1)))
            start = index + 1
        }
        return runs
    }

    static func keyOrder(_ a: IngestRow, _ b: IngestRow) -> Bool {
        if a.tenantID != b.tenantID { return a.tenantID < b.tenantID }
        if a.entityID != b.entityID { return a.entityID < b.entityID }
        if a.attributeID != b.attributeID { return a.attributeID < b.attributeID }
        return a.timestamp < b.timestamp
    }

    /// Encodes `rows` tagged with `batchID`. Rows in key order share their tenant and
    /// entity, written as text once a run; a row's time is written as bytes, and copied
    /// when the row before had the same (an entity's attributes sent together, each
    /// one point: the sparse writers' shape; dense lines differ from row to row).
    package static func encode(_ rows: some Collection<IngestRow>, batchID: Int64) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: rows.count * 96)
        let batchTail = Array("\t\(batchID)\n".utf8)
        var owner = [UInt8]()
        var ownerKey: (tenant: Int64, entity: Int64)?
        var time = [UInt8]()
        var timeKey: Int64?
        for row in rows {
            if ownerKey?.tenant != row.tenantID || ownerKey?.entity != row.entityID {
                owner = Array("\(row.tenantID)\t\(row.entityID)\t".utf8)
                ownerKey = (row.tenantID, row.entityID)
            }
            buffer.writeBytes(owner)
            buffer.writeString(String(row.attributeID))
            switch row.value {
            case .int(let value): self.writeColumns(&buffer, slot: 0, String(value))
            case .decimal(let value): self.writeColumns(&buffer, slot: 1, Self.decimalText(value))
            case .text(let value): self.writeColumns(&buffer, slot: 2, self.escaped(value))
            case .bool(let value): self.writeColumns(&buffer, slot: 3, value ? "t" : "f")
            case .timestamp(let micros): self.writeColumns(&buffer, slot: 4, Timestamps.format(micros: micros))
            case .json(let value): self.writeColumns(&buffer, slot: 5, self.escaped(value))
            }
            if timeKey != row.timestamp {
                time.removeAll(keepingCapacity: true)
                time.append(UInt8(ascii: "\t"))
                Timestamps.write(micros: row.timestamp, to: &time)
                timeKey = row.timestamp
            }
            buffer.writeBytes(time)
            buffer.writeBytes(batchTail)
        }
        return buffer
    }

    /// The six value columns, `\N` in all but one: the text before and after that slot's value.
    private static let columnsAround: [(before: [UInt8], after: [UInt8])] = (0..<6).map { slot in
        (Array((String(repeating: "\t\\N", count: slot) + "\t").utf8), Array(String(repeating: "\t\\N", count: 5 - slot).utf8))
    }

    private static func writeColumns(_ buffer: inout ByteBuffer, slot: Int, _ text: String) {
        let around = self.columnsAround[slot]
        buffer.writeBytes(around.before)
        buffer.writeString(text)
        buffer.writeBytes(around.after)
    }

    static func decimalText(_ value: Double) -> String {
        // Swift prints the shortest text that reads back to the same double.
        value.description
    }

    /// Backslash, tab, newline and carriage return escaped, as COPY text requires.
    static func escaped(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x5C || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) else { return text }
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count + 8)
        for byte in text.utf8 {
            switch byte {
            case 0x5C:
                out.append(0x5C)
                out.append(0x5C)
            case 0x09:
                out.append(0x5C)
                out.append(UInt8(ascii: "t"))
            case 0x0A:
                out.append(0x5C)
                out.append(UInt8(ascii: "n"))
            case 0x0D:
                out.append(0x5C)
                out.append(UInt8(ascii: "r"))
            default: out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
