import NIOCore

/// Decodes RESP2 replies (`+`, `-`, `:`, `$`, `*`) into `RESPValue`s, one top-level
/// reply a message.
///
/// Input may stop at any byte: a scalar is consumed only once it is whole, and the
/// elements of an array are kept as they complete, so a large array arriving in many
/// reads is not parsed again from its start. Malformed input throws a
/// `RedisError` of kind `protocolViolation` (the connection is then closed): an
/// unknown type byte (RESP3 included), a bad number, a bulk string over 512 MB or not
/// followed by CRLF, a line over 64 KiB, arrays nested deeper than 32.
package struct RESPDecoder: ByteToMessageDecoder {
    package typealias InboundOut = RESPValue

    /// Redis' own `proto-max-bulk-len` default.
    package static let maximumBulkLength = 512 * 1024 * 1024
    /// Redis' replies nest a few levels at most; a deeper one is garbage or an attack.
    package static let maximumDepth = 32
    /// Longest `+`, `-` or `:` line (and `$`/`*` header).
    package static let maximumLineLength = 64 * 1024
    /// Most elements one array may announce.
    package static let maximumArrayCount = 1 << 24

    private struct PartialArray {
        var expected: Int
        var elements: [RESPValue]
    }

    /// Arrays whose elements are still arriving, outermost first.
    private var open: [PartialArray] = []

    package init() {}

    package mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let value = try self.next(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(value))
        return .continue
    }

    /// The next complete top-level value, or nil when more bytes are needed (whatever
    /// could be consumed has been).
    package mutating func next(from buffer: inout ByteBuffer) throws(RedisError) -> RESPValue? {
        while true {
            guard let item = try Self.item(from: &buffer) else { return nil }
            var value: RESPValue
            switch item {
            case .value(let scalar):
                value = scalar
            case .arrayHeader(let count):
                guard self.open.count < Self.maximumDepth else {
                    throw RedisError(.protocolViolation, "Reply arrays nest deeper than \(Self.maximumDepth).")
                }
                var elements = [RESPValue]()
                elements.reserveCapacity(min(count, 1024))
                self.open.append(PartialArray(expected: count, elements: elements))
                continue
            }
            while !self.open.isEmpty {
                let last = self.open.count - 1
                self.open[last].elements.append(value)
                if self.open[last].elements.count < self.open[last].expected { break }
                value = .array(self.open.removeLast().elements)
            }
            if self.open.isEmpty { return value }
        }
    }

    private enum Item {
        case value(RESPValue)
        /// A non-empty array: its elements follow.
        case arrayHeader(Int)
    }

    /// One scalar, or the header of a non-empty array; consumed only when whole.
    private static func item(from buffer: inout ByteBuffer) throws(RedisError) -> Item? {
        guard let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        try self.checkType(type)
        guard let line = try self.line(in: buffer) else { return nil }
        let text = buffer.getSlice(at: buffer.readerIndex + 1, length: line.length)!
        switch type {
        case UInt8(ascii: "+"):
            buffer.moveReaderIndex(to: line.end)
            return .value(.simpleString(String(buffer: text)))
        case UInt8(ascii: "-"):
            buffer.moveReaderIndex(to: line.end)
            return .value(.error(String(buffer: text)))
        case UInt8(ascii: ":"):
            let number = try self.integer(text, what: "integer")
            buffer.moveReaderIndex(to: line.end)
            return .value(.integer(number))
        case UInt8(ascii: "$"):
            let length = try self.integer(text, what: "bulk string length")
            if length == -1 {
                buffer.moveReaderIndex(to: line.end)
                return .value(.bulkString(nil))
            }
            guard length >= 0, length <= Self.maximumBulkLength else {
                throw RedisError(.protocolViolation, "A bulk string length of \(length) is outside 0…\(Self.maximumBulkLength).")
            }
            let count = Int(length)
            guard buffer.writerIndex - line.end >= count + 2 else { return nil }
            guard buffer.getInteger(at: line.end + count, as: UInt16.self) == Self.crlf else {
                throw RedisError(.protocolViolation, "A bulk string is not followed by CRLF.")
            }
            let bytes = buffer.getSlice(at: line.end, length: count)!
            buffer.moveReaderIndex(to: line.end + count + 2)
            return .value(.bulkString(bytes))
        case UInt8(ascii: "*"):
            let count = try self.integer(text, what: "array length")
            guard count >= -1, count <= Self.maximumArrayCount else {
                throw RedisError(.protocolViolation, "An array length of \(count) is outside -1…\(Self.maximumArrayCount).")
            }
            buffer.moveReaderIndex(to: line.end)
            switch count {
            case -1: return .value(.array(nil))
            case 0: return .value(.array([]))
            default: return .arrayHeader(Int(count))
            }
        default:
            preconditionFailure("checkType lets only RESP2 types through")
        }
    }

    private static func checkType(_ type: UInt8) throws(RedisError) {
        switch type {
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "$"), UInt8(ascii: "*"):
            return
        case UInt8(ascii: "_"), UInt8(ascii: ","), UInt8(ascii: "#"), UInt8(ascii: "!"), UInt8(ascii: "="),
            UInt8(ascii: "("), UInt8(ascii: "%"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "|"):
            throw RedisError(.protocolViolation, "The server sent a RESP3 reply; this client speaks RESP2.")
        default:
            throw RedisError(.protocolViolation, "Unknown reply type byte 0x\(String(type, radix: 16)).")
        }
    }

    private static let crlf = UInt16(UInt8(ascii: "\r")) << 8 | UInt16(UInt8(ascii: "\n"))

    /// The first line: the length of its text after the type byte, and where the next
    /// line starts. nil when its CRLF has not arrived yet.
    private static func line(in buffer: ByteBuffer) throws(RedisError) -> (length: Int, end: Int)? {
        let found = buffer.withUnsafeReadableBytes { bytes -> Int? in
            bytes.firstIndex(of: UInt8(ascii: "\r"))
        }
        guard let carriageReturn = found else {
            if buffer.readableBytes > Self.maximumLineLength {
                throw RedisError(.protocolViolation, "A reply line is longer than \(Self.maximumLineLength) bytes.")
            }
            return nil
        }
        guard carriageReturn <= Self.maximumLineLength else {
            throw RedisError(.protocolViolation, "A reply line is longer than \(Self.maximumLineLength) bytes.")
        }
        guard let next = buffer.getInteger(at: buffer.readerIndex + carriageReturn + 1, as: UInt8.self) else { return nil }
        guard next == UInt8(ascii: "\n") else {
            throw RedisError(.protocolViolation, "A reply line has CR without LF.")
        }
        return (carriageReturn - 1, buffer.readerIndex + carriageReturn + 2)
    }

    /// A signed decimal, digits only.
    private static func integer(_ text: ByteBuffer, what: String) throws(RedisError) -> Int64 {
        let bytes = text.readableBytesView
        var negative = false
        var digits = bytes[...]
        if digits.first == UInt8(ascii: "-") {
            negative = true
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty else {
            throw RedisError(.protocolViolation, "The reply's \(what) is not a number.")
        }
        var value: Int64 = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                throw RedisError(.protocolViolation, "The reply's \(what) is not a number.")
            }
            let digit = Int64(byte - UInt8(ascii: "0"))
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = negative ? times10.subtractingReportingOverflow(digit) : times10.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else {
                throw RedisError(.protocolViolation, "The reply's \(what) does not fit 64 bits.")
            }
            value = sum
        }
        return value
    }
}
