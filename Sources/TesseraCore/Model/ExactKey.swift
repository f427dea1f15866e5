/// Text compared by its UTF-8 bytes, as PostgreSQL compares keys and names.
///
/// Swift's `String` equality is canonical equivalence: `café` written with a
/// precomposed `é` (NFC) and with `e` plus a combining accent (NFD) are equal Strings,
/// but two different entity keys in the database. A cache keyed by `String` would hand
/// one entity's id to the other's writes and reads. Caches key by this instead.
package struct ExactKey: Hashable, Sendable, CustomStringConvertible {
    package let text: String

    package init(_ text: String) {
        self.text = text
    }

    package static func == (lhs: ExactKey, rhs: ExactKey) -> Bool {
        lhs.text.utf8.elementsEqual(rhs.text.utf8)
    }

    package func hash(into hasher: inout Hasher) {
        for byte in self.text.utf8 { hasher.combine(byte) }
        hasher.combine(0xFF as UInt8)  // never a UTF-8 byte: ends the key
    }

    package var description: String { self.text }
}
