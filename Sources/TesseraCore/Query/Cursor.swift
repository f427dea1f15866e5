/// Opaque keyset cursors for paged reads: base64url without padding of
/// `e:<entity id>` (entity pages: the last entity id of the previous page) or
/// `t:<micros>` (series pages: the time of the previous page's last point).
/// Clients pass them back unchanged; anything else is refused, never guessed at.
package enum Cursor {
    /// Longer text is refused before decoding; real cursors are under 32 characters.
    package static let maxLength = 64

    package static func encode(entityID: Int64) -> String {
        self.base64URL(Array("e:\(entityID)".utf8))
    }

    /// The entity id an entity-page cursor holds.
    package static func decodeEntityID(_ text: String) throws(TesseraError) -> Int64 {
        guard let id = self.decode(text, prefix: "e:"), id >= 0 else { throw self.invalid }
        return id
    }

    package static func encode(timeMicros: Int64) -> String {
        self.base64URL(Array("t:\(timeMicros)".utf8))
    }

    /// The time, in microseconds since 1970, a series-page cursor holds.
    package static func decodeTime(_ text: String) throws(TesseraError) -> Int64 {
        guard let micros = self.decode(text, prefix: "t:"), Timestamps.queryRange.contains(micros) else { throw self.invalid }
        return micros
    }

    private static var invalid: TesseraError {
        TesseraError(
            .invalidParameter,
            "cursor is not one this server issued: pass back the cursor of the previous page unchanged, "
                + "or leave it out to start from the first page."
        )
    }

    /// The number after `prefix`, written exactly as `encode` writes it.
    private static func decode(_ text: String, prefix: String) -> Int64? {
        guard text.utf8.count <= self.maxLength, let bytes = self.bytes(base64URL: text),
            let plain = String(validating: bytes, as: UTF8.self), plain.hasPrefix(prefix)
        else { return nil }
        let digits = String(plain.dropFirst(prefix.count))
        guard let value = Int64(digits), String(value) == digits else { return nil }
        return value
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func base64URL(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index < bytes.count {
            let b0 = UInt32(bytes[index])
            let b1 = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
            let b2 = index + 2 < bytes.count ? UInt32(bytes[index + 2]) : 0
            let group = b0 << 16 | b1 << 8 | b2
            let count = min(3, bytes.count - index) + 1
            for position in 0..<count {
                out.append(self.alphabet[Int(group >> UInt32(18 - 6 * position) & 0x3F)])
            }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes unpadded base64url; nil for other characters, padding, an impossible
    /// length, or stray bits in the last character (so each cursor has one spelling).
    static func bytes(base64URL text: String) -> [UInt8]? {
        let input = Array(text.utf8)
        guard input.count % 4 != 1 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(input.count * 3 / 4)
        var buffer: UInt32 = 0
        var bits = 0
        for char in input {
            let sextet: UInt32
            switch char {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): sextet = UInt32(char - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): sextet = UInt32(char - UInt8(ascii: "a")) + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): sextet = UInt32(char - UInt8(ascii: "0")) + 52
            case UInt8(ascii: "-"): sextet = 62
            case UInt8(ascii: "_"): sextet = 63
            default: return nil
            }
            buffer = buffer << 6 | sextet
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
                buffer &= (1 << UInt32(bits)) - 1
            }
        }
        guard buffer == 0 else { return nil }
        return out
    }
}
