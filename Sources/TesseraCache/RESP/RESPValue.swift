import NIOCore

/// A RESP2 value, as Redis sends it.
package enum RESPValue: Sendable, Equatable {
    case simpleString(String)
    case error(String)
    case integer(Int64)
    /// nil is the null bulk string.
    case bulkString(ByteBuffer?)
    /// nil is the null array.
    case array([RESPValue]?)
}
