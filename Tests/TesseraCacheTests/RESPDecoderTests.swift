import Foundation
import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing

@testable import TesseraCache

/// The RESP2 decoder without a server: every type, nested and null values, input cut
/// at every byte (NIO's verifier drip-feeds it), and malformed input.
@Suite struct RESPDecoderTests {
    private static func bulk(_ text: String) -> RESPValue { .bulkString(ByteBuffer(string: text)) }

    @Test func decodesEveryTypeAtEveryByteBoundary() async throws {
        let binary: [UInt8] = [0, 255, 13, 10, 36, 42]
        var binaryReply = ByteBuffer(string: "$6\r\n")
        binaryReply.writeBytes(binary)
        binaryReply.writeString("\r\n")
        // The verifier feeds every input byte by byte, ten times over: a kilobyte here,
        // a megabyte (longer than any line may be) in its own test below.
        let large = String(repeating: "x", count: 1_000)
        let manyElements = (0..<300).map { RESPValue.integer(Int64($0)) }

        var pairs: [(ByteBuffer, [RESPValue])] = [
            ("+OK\r\n", [.simpleString("OK")]),
            ("+\r\n", [.simpleString("")]),
            ("-ERR unknown command 'FOO'\r\n", [.error("ERR unknown command 'FOO'")]),
            (
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
                [.error("WRONGTYPE Operation against a key holding the wrong kind of value")]
            ),
            (":0\r\n", [.integer(0)]),
            (":-42\r\n", [.integer(-42)]),
            (":9223372036854775807\r\n", [.integer(.max)]),
            (":-9223372036854775808\r\n", [.integer(.min)]),
            ("$5\r\nhello\r\n", [Self.bulk("hello")]),
            ("$0\r\n\r\n", [Self.bulk("")]),
            ("$-1\r\n", [.bulkString(nil)]),
            ("$4\r\na\r\nb\r\n", [Self.bulk("a\r\nb")]),
            ("$\(large.utf8.count)\r\n\(large)\r\n", [Self.bulk(large)]),
            ("*0\r\n", [.array([])]),
            ("*-1\r\n", [.array(nil)]),
            ("*3\r\n$3\r\nfoo\r\n$-1\r\n$0\r\n\r\n", [.array([Self.bulk("foo"), .bulkString(nil), Self.bulk("")])]),
            (
                "*4\r\n:1\r\n*2\r\n+a\r\n*-1\r\n*0\r\n-ERR x\r\n",
                [.array([.integer(1), .array([.simpleString("a"), .array(nil)]), .array([]), .error("ERR x")])]
            ),
            ("*1\r\n*1\r\n*1\r\n*1\r\n:7\r\n", [.array([.array([.array([.array([.integer(7)])])])])]),
            ("*2\r\n*1\r\n:1\r\n*1\r\n:2\r\n", [.array([.array([.integer(1)]), .array([.integer(2)])])]),
            ("+A\r\n:1\r\n$-1\r\n", [.simpleString("A"), .integer(1), .bulkString(nil)]),
        ].map { (ByteBuffer(string: $0.0), $0.1) }
        pairs.append((binaryReply, [.bulkString(ByteBuffer(bytes: binary))]))
        pairs.append((ByteBuffer(string: "*300\r\n" + (0..<300).map { ":\($0)\r\n" }.joined()), [.array(manyElements)]))

        // Seconds of CPU: on a thread of its own, not one of the few that run every test's tasks.
        let inputOutputPairs = pairs
        try await onOwnThread { try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: inputOutputPairs) { RESPDecoder() } }
    }

    @Test(arguments: [
        "?x\r\n", "%1\r\n+a\r\n+b\r\n", "_\r\n", ":12a\r\n", ":\r\n", ":-\r\n", ":99999999999999999999\r\n",
        "$-2\r\n", "$abc\r\n", "$\(512 * 1024 * 1024 + 1)\r\n", "$3\r\nabcd\r\n", "$3\r\nabc\n\r",
        "*-2\r\n", "*\(1 << 25)\r\n", "+OK\rX\n", "\r\n",
    ])
    func rejectsMalformedInput(_ text: String) {
        var decoder = RESPDecoder()
        var buffer = ByteBuffer(string: text)
        #expect { _ = try decoder.next(from: &buffer) } throws: { ($0 as? RedisError)?.kind == .protocolViolation }
    }

    @Test func rejectsOverlongLinesAndDeepNesting() {
        var decoder = RESPDecoder()
        var line = ByteBuffer(string: "+" + String(repeating: "a", count: RESPDecoder.maximumLineLength + 10))
        #expect(throws: RedisError.self) { _ = try decoder.next(from: &line) }

        var nested = RESPDecoder()
        var deep = ByteBuffer(string: String(repeating: "*1\r\n", count: RESPDecoder.maximumDepth + 1) + ":1\r\n")
        #expect(throws: RedisError.self) { _ = try nested.next(from: &deep) }

        var fine = RESPDecoder()
        var allowed = ByteBuffer(string: String(repeating: "*1\r\n", count: RESPDecoder.maximumDepth) + ":1\r\n")
        #expect(throws: Never.self) { _ = try fine.next(from: &allowed) }
    }

    @Test func aMegabyteBulkStringArrivesInChunks() throws {
        var decoder = RESPDecoder()
        let value = ByteBuffer(repeating: 0x61, count: 1 << 20)
        var whole = ByteBuffer(string: "*2\r\n$\(value.readableBytes)\r\n")
        whole.writeImmutableBuffer(value)
        whole.writeString("\r\n:1\r\n")
        var buffer = ByteBuffer()
        var decoded: RESPValue?
        while whole.readableBytes > 0 {
            var chunk = whole.readSlice(length: min(16_384, whole.readableBytes))!
            buffer.writeBuffer(&chunk)
            if let value = try decoder.next(from: &buffer) { decoded = value }
        }
        #expect(decoded == .array([.bulkString(value), .integer(1)]))
    }

    @Test func aPartialReplyWaitsForMoreBytes() throws {
        var decoder = RESPDecoder()
        var buffer = ByteBuffer(string: "*2\r\n$5\r\nhel")
        #expect(try decoder.next(from: &buffer) == nil)
        buffer.writeString("lo\r\n:")
        #expect(try decoder.next(from: &buffer) == nil)
        buffer.writeString("3\r\n+next")
        #expect(try decoder.next(from: &buffer) == .array([Self.bulk("hello"), .integer(3)]))
        #expect(try decoder.next(from: &buffer) == nil)
        #expect(buffer.readableBytes == "+next".utf8.count)
    }

    @Test func garbageFromTheServerFailsThePipeline() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPDecoder()))
        #expect { try channel.writeInbound(ByteBuffer(string: "+OK\r\n!oops\r\n")) } throws: {
            ($0 as? RedisError)?.kind == .protocolViolation
        }
        #expect(try channel.readInbound(as: RESPValue.self) == .simpleString("OK"))
    }

    @Test func encodesCommandsAsArraysOfBulkStrings() throws {
        var value = ByteBuffer(bytes: [0, 13, 10, 255])
        var out = ByteBuffer()
        RESPEncoder.write(["SET", "k:é", .bytes(value), "PX", 1500], into: &out)
        var expected = ByteBuffer(string: "*5\r\n$3\r\nSET\r\n$4\r\nk:é\r\n$4\r\n")
        expected.writeBuffer(&value)
        expected.writeString("\r\n$2\r\nPX\r\n$4\r\n1500\r\n")
        #expect(out == expected)

        let channel = EmbeddedChannel(handler: MessageToByteHandler(RESPEncoder()))
        try channel.writeOutbound(RedisCommand(["PING"]))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "*1\r\n$4\r\nPING\r\n"))
        #expect(RedisCommand(["get", "secret-key"]).description == "GET")
    }
}

/// Runs blocking work on a thread of its own, off the concurrency pool.
func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}
