/// Splits a request body that arrives in chunks into lines, without ever holding more than one
/// line (and at most `maxLineBytes` of it).
///
/// With `quoteAware` (line protocol) a line ends where InfluxDB 1.x's `scanLine` (models/points.go)
/// ends it, not at every newline: a backslash escapes the next byte (a newline included), and once
/// an unescaped space has been seen, `"` toggles quoting if more `=` than `,` were seen outside
/// quotes, and a newline inside quotes belongs to the line. So `m f="a` + `\n` + `b"` is one line,
/// while a `"` in a measurement or tag is literal. This is a byte-for-byte port, quirks included:
/// the state machine does not know comments, so a comment line like `# x="y` keeps going to the next
/// `"` exactly as in InfluxDB. Without `quoteAware` (NDJSON) every `\n` ends a line.
///
/// Line numbers count every `\n` in the body, also those inside a line, so they match an editor's.
package struct LineSplitter: Sendable {
    /// A complete line (without its `\n`) or the report of a line that was too long and skipped.
    package enum Piece: Sendable, Equatable {
        case line([UInt8], lineNumber: Int)
        case tooLong(lineNumber: Int)
    }

    package let maxLineBytes: Int
    package let quoteAware: Bool
    private var scanner: LineBoundaryScanner
    private var pending: [UInt8] = []
    /// The current line has at least one byte (so `finish` has a line to return).
    private var lineStarted = false
    /// The current line passed `maxLineBytes`; its remaining bytes are dropped.
    private var skipping = false
    private var lineNumber = 1

    package init(maxLineBytes: Int = 1 << 20, quoteAware: Bool = true) {
        self.maxLineBytes = max(0, maxLineBytes)
        self.quoteAware = quoteAware
        self.scanner = LineBoundaryScanner(quoteAware: quoteAware)
    }

    /// Feeds a chunk; returns the complete lines found so far (without "\n"), each with its 1-based line number.
    /// A newline inside a double-quoted field value does not end a line when quoteAware (as InfluxDB 1.x's scanner).
    /// A line longer than maxLineBytes is reported as .tooLong(lineNumber) and skipped up to its end, without buffering it.
    package mutating func feed(_ chunk: some Collection<UInt8>) -> [Piece] {
        if let pieces = chunk.withContiguousStorageIfAvailable({ feed(buffer: $0) }) {
            return pieces
        }
        return Array(chunk).withUnsafeBufferPointer { feed(buffer: $0) }
    }

    /// Call at the end of the body: returns the last line if it had no trailing newline.
    package mutating func finish() -> [Piece] {
        defer {
            pending = []
            lineStarted = false
            skipping = false
            scanner.reset()
        }
        guard lineStarted, !skipping else { return [] }
        var line = pending
        // InfluxDB only lets a backslash escape a byte that is not the last one of the body,
        // so a final backslash-newline still ends the line.
        if scanner.endsWithEscapedNewline, line.last == UInt8(ascii: "\n") {
            line.removeLast()
        }
        return [.line(line, lineNumber: lineNumber)]
    }

    private mutating func feed(buffer: UnsafeBufferPointer<UInt8>) -> [Piece] {
        var pieces: [Piece] = []
        var position = 0
        while position < buffer.count {
            let terminator = scanner.scan(buffer, from: position)
            let segmentEnd = terminator ?? buffer.count
            append(UnsafeBufferPointer(rebasing: buffer[position..<segmentEnd]), to: &pieces)
            guard let terminator else { break }
            if !skipping {
                pieces.append(.line(pending, lineNumber: lineNumber))
            }
            lineNumber += scanner.newlinesInLine + 1
            scanner.reset()
            pending.removeAll(keepingCapacity: true)
            lineStarted = false
            skipping = false
            position = terminator + 1
        }
        return pieces
    }

    private mutating func append(_ segment: UnsafeBufferPointer<UInt8>, to pieces: inout [Piece]) {
        guard !segment.isEmpty else { return }
        lineStarted = true
        guard !skipping else { return }
        if pending.count + segment.count > maxLineBytes {
            pieces.append(.tooLong(lineNumber: lineNumber))
            skipping = true
            pending = []
            return
        }
        pending.append(contentsOf: segment)
    }
}

/// The resumable state machine of InfluxDB 1.x's `scanLine`: finds where a line ends, across
/// chunk boundaries. Shared by `LineSplitter` and `LineProtocolParser.parse(_:)`.
struct LineBoundaryScanner: Sendable {
    let quoteAware: Bool
    private var escaping = false
    private var inFields = false
    private var quoted = false
    private var equals = 0
    private var commas = 0
    /// Newlines that the current line contains (quoted or escaped), not counting its terminator.
    private(set) var newlinesInLine = 0
    /// The last byte scanned was a newline escaped by a backslash. If the body ends right there,
    /// InfluxDB would not have escaped it (its scanner escapes only when two more bytes follow the
    /// backslash), so that newline terminates the last line instead of belonging to it.
    private(set) var endsWithEscapedNewline = false

    init(quoteAware: Bool) {
        self.quoteAware = quoteAware
    }

    /// Starts a new line.
    mutating func reset() {
        escaping = false
        inFields = false
        quoted = false
        equals = 0
        commas = 0
        newlinesInLine = 0
        endsWithEscapedNewline = false
    }

    /// Scans `bytes[start...]` and returns the index of the `\n` that ends the current line, or nil
    /// if the line goes on past the end. Call `reset()` after a terminator before scanning the next line.
    mutating func scan(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        var index = start
        let count = bytes.count
        guard quoteAware else {
            while index < count {
                if bytes[index] == UInt8(ascii: "\n") { return index }
                index += 1
            }
            return nil
        }
        while index < count {
            let byte = bytes[index]
            if escaping {
                escaping = false
                endsWithEscapedNewline = byte == UInt8(ascii: "\n")
                if endsWithEscapedNewline { newlinesInLine += 1 }
                index += 1
                continue
            }
            endsWithEscapedNewline = false
            // Fast path: letters and most other bytes change nothing.
            if byte > UInt8(ascii: "\\")
                || (byte > UInt8(ascii: "\"") && byte < UInt8(ascii: "\\") && byte != UInt8(ascii: ",") && byte != UInt8(ascii: "="))
            {
                index += 1
                continue
            }
            switch byte {
            case UInt8(ascii: "\\"):
                escaping = true
            case UInt8(ascii: " "):
                inFields = true
            case UInt8(ascii: "="):
                if inFields, !quoted { equals += 1 }
            case UInt8(ascii: ","):
                if inFields, !quoted { commas += 1 }
            case UInt8(ascii: "\""):
                if inFields, equals > commas { quoted.toggle() }
            case UInt8(ascii: "\n"):
                if !quoted { return index }
                newlinesInLine += 1
            default:
                break
            }
            index += 1
        }
        return nil
    }
}
