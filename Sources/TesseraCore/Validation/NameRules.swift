/// The rules every name and free-text field in the catalog obeys.
///
/// Lengths count UTF-8 bytes, the unit PostgreSQL and the wire formats use.
/// Control characters (C0, DEL, C1) and line or paragraph separators are never
/// allowed in names: they break logs, line protocol and terminals.
package enum NameRules {
    package static let maxAttributeNameLength = 128
    package static let maxEntityKeyLength = 256
    package static let maxEntityTypeLength = 64
    package static let maxSubjectLength = 256
    package static let maxTenantNameLength = 64
    package static let maxUnitLength = 32
    package static let maxDescriptionLength = 1_024

    package static func validateAttributeName(_ name: String) throws(TesseraError) {
        try self.validateName(name, field: "attribute name", maxLength: self.maxAttributeNameLength)
    }

    package static func validateEntityKey(_ key: String) throws(TesseraError) {
        try self.validateName(key, field: "entity key", maxLength: self.maxEntityKeyLength)
    }

    package static func validateEntityType(_ type: String) throws(TesseraError) {
        try self.validateName(type, field: "entity type", maxLength: self.maxEntityTypeLength)
    }

    /// A data subject's id: what `validateName` allows, up to 256 bytes.
    package static func validateSubject(_ subject: String) throws(TesseraError) {
        try self.validateName(subject, field: "subject", maxLength: self.maxSubjectLength)
    }

    package static func validateTenantName(_ name: String) throws(TesseraError) {
        try self.validateName(name, field: "tenant name", maxLength: self.maxTenantNameLength)
    }

    /// A name: non-empty, at most `maxLength` UTF-8 bytes, no control characters,
    /// no leading or trailing whitespace.
    package static func validateName(_ value: String, field: String, maxLength: Int) throws(TesseraError) {
        if value.isEmpty {
            throw TesseraError(.invalidName, "The \(field) must not be empty.")
        }
        let length = value.utf8.count
        if length > maxLength {
            throw TesseraError(.invalidName, "The \(field) is \(length) bytes long; the limit is \(maxLength).")
        }
        if self.isPlainASCII(value) { return }
        if let bad = value.unicodeScalars.first(where: self.isForbidden) {
            throw TesseraError(
                .invalidName,
                "The \(field) contains the control character U+\(self.hex(bad)); control characters are not allowed."
            )
        }
        if self.isWhitespace(value.unicodeScalars.first!) || self.isWhitespace(value.unicodeScalars.last!) {
            throw TesseraError(.invalidName, "The \(field) must not begin or end with whitespace.")
        }
    }

    /// A name of printable ASCII that neither begins nor ends with a space passes every
    /// check above: answered from its bytes, as most names are (ingest checks each point's).
    static func isPlainASCII(_ value: String) -> Bool {
        value.utf8.withContiguousStorageIfAvailable { bytes in
            guard let first = bytes.first, let last = bytes.last, first != 0x20, last != 0x20 else { return false }
            return !bytes.contains(where: { $0 < 0x20 || $0 > 0x7E })
        } ?? false
    }

    /// Free text (a unit, a description): may be empty; tabs and newlines allowed
    /// in descriptions, no other control characters.
    package static func validateFreeText(_ value: String, field: String, maxLength: Int) throws(TesseraError) {
        let length = value.utf8.count
        if length > maxLength {
            throw TesseraError(.invalidBody, "The \(field) is \(length) bytes long; the limit is \(maxLength).")
        }
        if let bad = value.unicodeScalars.first(where: { $0 != "\t" && $0 != "\n" && self.isForbidden($0) }) {
            throw TesseraError(
                .invalidBody,
                "The \(field) contains the control character U+\(self.hex(bad)); control characters are not allowed."
            )
        }
    }

    /// ASCII answered directly (the common case); the rest by Unicode's property.
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII { return scalar == " " || (scalar.value >= 0x09 && scalar.value <= 0x0D) }
        return scalar.properties.isWhitespace
    }

    package static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029: true
        default: false
        }
    }

    /// A form of untrusted text that is safe to put in an error message or a log line:
    /// control characters escaped, cut to `limit` characters.
    package static func printable(_ value: String, limit: Int = 64) -> String {
        var out = ""
        for (count, scalar) in value.unicodeScalars.enumerated() {
            if count >= limit {
                out += "…"
                break
            }
            if self.isForbidden(scalar) {
                out += "\\u{\(self.hex(scalar))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func hex(_ scalar: Unicode.Scalar) -> String {
        let digits = String(scalar.value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
