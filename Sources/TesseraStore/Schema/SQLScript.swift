/// Splits a SQL script into statements at top-level semicolons.
///
/// PostgreSQL's extended protocol (which PostgresNIO speaks) takes one statement
/// at a time, so migrations are split here. Semicolons inside quotes, quoted
/// identifiers, dollar-quoted bodies and comments do not split.
package enum SQLScript {
    package static func statements(_ script: String) -> [String] {
        let text = Array(script.utf8)
        var statements = [String]()
        var start = 0
        var index = 0
        while index < text.count {
            let byte = text[index]
            switch byte {
            case UInt8(ascii: "-") where self.peek(text, index + 1) == UInt8(ascii: "-"):
                index = self.skip(text, from: index, until: [UInt8(ascii: "\n")])
            case UInt8(ascii: "/") where self.peek(text, index + 1) == UInt8(ascii: "*"):
                index = self.skipBlockComment(text, from: index)
            case UInt8(ascii: "'"):
                let escapes = index > 0 && (text[index - 1] == UInt8(ascii: "E") || text[index - 1] == UInt8(ascii: "e"))
                index = self.skipQuoted(text, from: index, quote: UInt8(ascii: "'"), backslashEscapes: escapes)
            case UInt8(ascii: "\""):
                index = self.skipQuoted(text, from: index, quote: UInt8(ascii: "\""), backslashEscapes: false)
            case UInt8(ascii: "$"):
                if let tag = self.dollarTag(text, at: index) {
                    index = self.skip(text, from: index + tag.count, until: tag)
                } else {
                    index += 1
                }
            case UInt8(ascii: ";"):
                self.append(text[start..<index], to: &statements)
                index += 1
                start = index
            default:
                index += 1
            }
        }
        self.append(text[start..<min(index, text.count)], to: &statements)
        return statements
    }

    private static func append(_ bytes: ArraySlice<UInt8>, to statements: inout [String]) {
        let statement = String(decoding: bytes, as: UTF8.self)
        if self.hasCode(statement) {
            statements.append(statement.trimmingWhitespace())
        }
    }

    /// Whether anything but whitespace and comments is left.
    private static func hasCode(_ statement: String) -> Bool {
        let text = Array(statement.utf8)
        var index = 0
        while index < text.count {
            switch text[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                index += 1
            case UInt8(ascii: "-") where self.peek(text, index + 1) == UInt8(ascii: "-"):
                index = self.skip(text, from: index, until: [UInt8(ascii: "\n")])
            case UInt8(ascii: "/") where self.peek(text, index + 1) == UInt8(ascii: "*"):
                index = self.skipBlockComment(text, from: index)
            default:
                return true
            }
        }
        return false
    }

    private static func peek(_ text: [UInt8], _ index: Int) -> UInt8? {
        index < text.count ? text[index] : nil
    }

    /// Index just past the first occurrence of `terminator` at or after `from + 1`, or the end.
    private static func skip(_ text: [UInt8], from: Int, until terminator: [UInt8]) -> Int {
        var index = from + 1
        while index + terminator.count <= text.count {
            if text[index..<(index + terminator.count)].elementsEqual(terminator) {
                return index + terminator.count
            }
            index += 1
        }
        return text.count
    }

    private static func skipBlockComment(_ text: [UInt8], from: Int) -> Int {
        var depth = 0
        var index = from
        while index < text.count {
            if text[index] == UInt8(ascii: "/"), self.peek(text, index + 1) == UInt8(ascii: "*") {
                depth += 1
                index += 2
            } else if text[index] == UInt8(ascii: "*"), self.peek(text, index + 1) == UInt8(ascii: "/") {
                depth -= 1
                index += 2
                if depth == 0 { return index }
            } else {
                index += 1
            }
        }
        return text.count
    }

    private static func skipQuoted(_ text: [UInt8], from: Int, quote: UInt8, backslashEscapes: Bool) -> Int {
        var index = from + 1
        while index < text.count {
            if backslashEscapes, text[index] == UInt8(ascii: "\\") {
                index += 2
                continue
            }
            if text[index] == quote {
                if self.peek(text, index + 1) == quote {
                    index += 2
                    continue
                }
                return index + 1
            }
            index += 1
        }
        return text.count
    }

    /// The `$tag$` opening at `index`, if one does.
    private static func dollarTag(_ text: [UInt8], at index: Int) -> [UInt8]? {
        if index > 0 {
            let before = text[index - 1]
            let isIdentifier =
                (before >= 48 && before <= 57) || (before >= 65 && before <= 90)
                || (before >= 97 && before <= 122) || before == UInt8(ascii: "_")
            if isIdentifier { return nil }
        }
        var end = index + 1
        while end < text.count {
            let byte = text[end]
            if byte == UInt8(ascii: "$") { return Array(text[index...end]) }
            let allowed =
                (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || byte == UInt8(ascii: "_")
                || (end > index + 1 && byte >= 48 && byte <= 57)
            if !allowed { return nil }
            end += 1
        }
        return nil
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = self.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
