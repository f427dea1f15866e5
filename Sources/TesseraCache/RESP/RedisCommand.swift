import NIOCore

/// One command: its name and arguments, sent as a RESP array of bulk strings.
///
/// `["SET", "k", .bytes(value), "PX", 500]` reads as the command does. Its
/// `description` is the command's name alone: arguments are keys and values, which
/// never go to logs.
package struct RedisCommand: Sendable, Equatable, ExpressibleByArrayLiteral, CustomStringConvertible {
    package enum Argument: Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
        case string(String)
        case bytes(ByteBuffer)
        case integer(Int64)

        package init(stringLiteral value: String) { self = .string(value) }
        package init(integerLiteral value: Int64) { self = .integer(value) }
    }

    package var arguments: [Argument]

    package init(_ arguments: [Argument]) {
        precondition(!arguments.isEmpty, "A Redis command needs at least its name")
        self.arguments = arguments
    }

    package init(arrayLiteral elements: Argument...) {
        self.init(elements)
    }

    /// The command's name, upper-cased (`GET`, `SET`).
    package var name: String {
        if case .string(let name) = self.arguments[0] { return name.uppercased() }
        return "?"
    }

    package var description: String { self.name }
}
