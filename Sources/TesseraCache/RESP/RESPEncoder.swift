import NIOCore

/// Writes commands as RESP arrays of bulk strings (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`),
/// the one form a client sends.
package struct RESPEncoder: MessageToByteEncoder {
    package typealias OutboundIn = RedisCommand

    package init() {}

    package func encode(data command: RedisCommand, out: inout ByteBuffer) {
        Self.write(command, into: &out)
    }

    package static func write(_ command: RedisCommand, into out: inout ByteBuffer) {
        out.writeStaticString("*")
        out.writeString(String(command.arguments.count))
        out.writeStaticString("\r\n")
        for argument in command.arguments {
            switch argument {
            case .string(let text):
                out.writeStaticString("$")
                out.writeString(String(text.utf8.count))
                out.writeStaticString("\r\n")
                out.writeString(text)
            case .bytes(let bytes):
                out.writeStaticString("$")
                out.writeString(String(bytes.readableBytes))
                out.writeStaticString("\r\n")
                out.writeImmutableBuffer(bytes)
            case .integer(let number):
                let text = String(number)
                out.writeStaticString("$")
                out.writeString(String(text.utf8.count))
                out.writeStaticString("\r\n")
                out.writeString(text)
            }
            out.writeStaticString("\r\n")
        }
    }
}
