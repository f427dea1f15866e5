/// Finds the elements of the `"points"` array in a JSON body `{"points": [ ... ]}`
/// as the body streams in, and hands each element's bytes over whole, so a large
/// body is never held in memory at once: only the element being read is.
///
/// It checks only the outer structure; each element is then parsed by `JSONReader`.
package struct PointsArrayScanner: Sendable {
    package enum Output: Sendable, Equatable {
        /// One element of the array, 0-based index.
        case element([UInt8], index: Int)
        /// An element over `maxElementBytes`: skipped, reported as a per-point error.
        case elementTooLarge(index: Int)
    }

    package enum Failure: Error, Sendable, Equatable {
        /// The outer structure is not `{"points": [...]}` or the JSON is broken.
        case malformed(String)
    }

    private enum Phase: Sendable {
        case beforeObject
        case expectKey
        case inKey
        case afterKey
        case beforeValue
        case skippingValue  // a member other than "points"
        case beforeElement
        case inElement
        case afterElement
        case afterMember
        case done
    }

    private let maxElementBytes: Int
    private var phase = Phase.beforeObject
    private var key = [UInt8]()
    private var element = [UInt8]()
    private var elementTooLarge = false
    private var elementIndex = 0
    private var depth = 0  // nesting inside the current element or skipped value
    private var inString = false
    private var escaped = false
    private var sawPoints = false

    package init(maxElementBytes: Int = 1 << 20) {
        self.maxElementBytes = maxElementBytes
    }

    /// Feeds a chunk of the body and returns the elements completed by it.
    package mutating func feed(_ chunk: some Collection<UInt8>) throws(Failure) -> [Output] {
        var outputs = [Output]()
        var failure: Failure?
        // Contiguous bytes (a ByteBuffer's view) are read through a pointer: no generic
        // iteration per byte.
        let handled: Void? = chunk.withContiguousStorageIfAvailable { buffer in
            for byte in buffer {
                do throws(Failure) {
                    try self.step(byte, &outputs)
                } catch {
                    failure = error
                    return
                }
            }
        }
        if handled == nil {
            for byte in chunk { try self.step(byte, &outputs) }
        }
        if let failure { throw failure }
        return outputs
    }

    /// Ends the body: throws unless the document was complete.
    package mutating func finish() throws(Failure) {
        guard case .done = self.phase else {
            throw .malformed(self.sawPoints ? "the body ends before the JSON document does" : "the body has no \"points\" array")
        }
        guard self.sawPoints else { throw .malformed("the body has no \"points\" array") }
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }

    private mutating func step(_ byte: UInt8, _ outputs: inout [Output]) throws(Failure) {
        switch self.phase {
        case .beforeObject:
            if Self.isSpace(byte) { return }
            guard byte == UInt8(ascii: "{") else { throw .malformed("the body must be a JSON object with a \"points\" array") }
            self.phase = .expectKey
        case .expectKey:
            if Self.isSpace(byte) || byte == UInt8(ascii: ",") { return }
            if byte == UInt8(ascii: "}") {
                self.phase = .done
                return
            }
            guard byte == UInt8(ascii: "\"") else { throw .malformed("expected a member name") }
            self.key.removeAll(keepingCapacity: true)
            self.phase = .inKey
        case .inKey:
            if self.escaped {
                self.escaped = false
                self.key.append(byte)
            } else if byte == UInt8(ascii: "\\") {
                self.escaped = true
                self.key.append(byte)
            } else if byte == UInt8(ascii: "\"") {
                self.phase = .afterKey
            } else if self.key.count < 64 {
                self.key.append(byte)
            }
        case .afterKey:
            if Self.isSpace(byte) { return }
            guard byte == UInt8(ascii: ":") else { throw .malformed("expected ':' after a member name") }
            self.phase = .beforeValue
        case .beforeValue:
            if Self.isSpace(byte) { return }
            if self.key == Array("points".utf8) {
                guard byte == UInt8(ascii: "[") else { throw .malformed("\"points\" must be an array") }
                guard !self.sawPoints else { throw .malformed("\"points\" appears twice") }
                self.sawPoints = true
                self.phase = .beforeElement
            } else {
                self.phase = .skippingValue
                self.depth = 0
                try self.skip(byte)
            }
        case .skippingValue:
            try self.skip(byte)
        case .beforeElement:
            if Self.isSpace(byte) { return }
            if byte == UInt8(ascii: "]") {
                if self.elementIndex > 0 { throw .malformed("trailing comma in \"points\"") }
                self.phase = .afterMember
                return
            }
            self.beginElement()
            self.phase = .inElement
            try self.consumeElement(byte, &outputs)
        case .inElement:
            try self.consumeElement(byte, &outputs)
        case .afterElement:
            if Self.isSpace(byte) { return }
            if byte == UInt8(ascii: ",") {
                self.phase = .beforeElement
            } else if byte == UInt8(ascii: "]") {
                self.phase = .afterMember
            } else {
                throw .malformed("expected ',' or ']' after point \(self.elementIndex - 1)")
            }
        case .afterMember:
            if Self.isSpace(byte) { return }
            if byte == UInt8(ascii: ",") {
                self.phase = .expectKey
            } else if byte == UInt8(ascii: "}") {
                self.phase = .done
            } else {
                throw .malformed("expected ',' or '}' after a member")
            }
        case .done:
            if !Self.isSpace(byte) { throw .malformed("unexpected content after the JSON document") }
        }
    }

    private mutating func beginElement() {
        self.element.removeAll(keepingCapacity: true)
        self.elementTooLarge = false
        self.depth = 0
        self.inString = false
        self.escaped = false
    }

    /// Appends to the current element; ends it at its closing bracket, or at the
    /// `,`/`]` after a scalar.
    private mutating func consumeElement(_ byte: UInt8, _ outputs: inout [Output]) throws(Failure) {
        if !self.inString && self.depth == 0 && (byte == UInt8(ascii: ",") || byte == UInt8(ascii: "]")) && !self.element.isEmpty {
            self.emitElement(&outputs)
            self.phase = byte == UInt8(ascii: ",") ? .beforeElement : .afterMember
            return
        }
        if self.element.count < self.maxElementBytes {
            self.element.append(byte)
        } else {
            self.elementTooLarge = true
        }
        if self.inString {
            if self.escaped {
                self.escaped = false
            } else if byte == UInt8(ascii: "\\") {
                self.escaped = true
            } else if byte == UInt8(ascii: "\"") {
                self.inString = false
            }
            return
        }
        switch byte {
        case UInt8(ascii: "\""): self.inString = true
        case UInt8(ascii: "{"), UInt8(ascii: "["): self.depth += 1
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            self.depth -= 1
            if self.depth < 0 { throw .malformed("unbalanced brackets in point \(self.elementIndex)") }
            if self.depth == 0 {
                self.emitElement(&outputs)
                self.phase = .afterElement
            }
        default: break
        }
    }

    private mutating func emitElement(_ outputs: inout [Output]) {
        outputs.append(self.elementTooLarge ? .elementTooLarge(index: self.elementIndex) : .element(self.element, index: self.elementIndex))
        self.elementIndex += 1
        self.element.removeAll(keepingCapacity: true)
    }

    /// Skips a value of a member other than "points", tracking strings and nesting.
    private mutating func skip(_ byte: UInt8) throws(Failure) {
        if self.inString {
            if self.escaped {
                self.escaped = false
            } else if byte == UInt8(ascii: "\\") {
                self.escaped = true
            } else if byte == UInt8(ascii: "\"") {
                self.inString = false
                if self.depth == 0 { self.phase = .afterMember }
            }
            return
        }
        switch byte {
        case UInt8(ascii: "\""): self.inString = true
        case UInt8(ascii: "{"), UInt8(ascii: "["): self.depth += 1
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            if self.depth == 0 {
                // The end of the enclosing object after a scalar value.
                guard byte == UInt8(ascii: "}") else { throw .malformed("unbalanced brackets") }
                self.phase = .done
                return
            }
            self.depth -= 1
            if self.depth == 0 { self.phase = .afterMember }
        case UInt8(ascii: ","):
            if self.depth == 0 { self.phase = .expectKey }
        default: break
        }
    }
}
