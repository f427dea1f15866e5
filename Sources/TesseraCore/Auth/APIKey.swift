/// A tenant API key: `tsk_` followed by 40 random base62 characters (~238 bits).
///
/// Only a hash of the key is stored; the key itself is shown once, when made.
package struct APIKey: Sendable, Equatable {
    package static let prefix = "tsk_"
    package static let randomLength = 40

    package let value: String

    package init(value: String) {
        self.value = value
    }

    /// A new key drawn from the system's cryptographically secure generator.
    package static func generate() -> APIKey {
        var generator = SystemRandomNumberGenerator()
        return APIKey(value: self.prefix + RandomToken.base62(length: self.randomLength, using: &generator))
    }

    /// The first characters of the key, safe to log and to show in listings.
    package var displayPrefix: String {
        String(self.value.prefix(self.prefixLengthShown))
    }

    private var prefixLengthShown: Int { Self.prefix.count + 6 }

    /// Whether the text has the shape of a key (not whether it is valid).
    package static func looksValid(_ text: String) -> Bool {
        text.hasPrefix(self.prefix) && text.utf8.count == self.prefix.utf8.count + self.randomLength
            && text.utf8.dropFirst(self.prefix.utf8.count).allSatisfy(RandomToken.isBase62)
    }
}

/// Random tokens for keys and passwords.
package enum RandomToken {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    package static func base62(length: Int, using generator: inout some RandomNumberGenerator) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(length)
        for _ in 0..<length {
            bytes.append(self.alphabet[Int(generator.next(upperBound: UInt64(self.alphabet.count)))])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    package static func base62(length: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return self.base62(length: length, using: &generator)
    }

    static func isBase62(_ byte: UInt8) -> Bool {
        (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122)
    }
}
