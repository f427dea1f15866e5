import Crypto
import Foundation
import TesseraCore

/// Encrypts and decrypts one value of a `pii` attribute with its entity's data key
/// (AES-256-GCM, a random nonce a value). The stored text is `pii1:` and the base64 of
/// nonce, ciphertext and tag; the plaintext is the value as JSON. The tenant, entity and
/// attribute are authenticated with it, so a value copied to another row does not open.
package enum PIISealer {
    package static let prefix = "pii1:"

    package static func seal(_ value: PointValue, key: DataKey, tenant: Int64, entity: Int64, attribute: Int32) throws -> String {
        let plaintext = Self.json(value).jsonBytes
        let box = try AES.GCM.seal(plaintext, using: key.key, authenticating: Self.context(tenant, entity, attribute))
        guard let combined = box.combined else { throw CryptoKitError.incorrectParameterSize }
        return Self.prefix + combined.base64EncodedString()
    }

    /// The value, or nil when it cannot be read: no key (its entity was erased), or not
    /// a value sealed for this tenant, entity and attribute.
    package static func open(_ stored: JSONValue, key: DataKey?, tenant: Int64, entity: Int64, attribute: Int32) -> JSONValue? {
        guard let key, case .string(let text) = stored, text.hasPrefix(Self.prefix),
            let combined = Data(base64Encoded: String(text.dropFirst(Self.prefix.count))),
            let box = try? AES.GCM.SealedBox(combined: combined),
            let plaintext = try? AES.GCM.open(box, using: key.key, authenticating: Self.context(tenant, entity, attribute))
        else { return nil }
        return try? JSONReader.parse(Array(plaintext))
    }

    static func context(_ tenant: Int64, _ entity: Int64, _ attribute: Int32) -> Data {
        Data("tessera-pii-v1:\(tenant):\(entity):\(attribute)".utf8)
    }

    /// The value as the reads render it.
    static func json(_ value: PointValue) -> JSONValue {
        switch value {
        case .int(let int): .number(literal: String(int), isInteger: true)
        case .decimal(let decimal): .number(literal: decimal.description, isInteger: false)
        case .text(let text): .string(text)
        case .bool(let bool): .bool(bool)
        case .timestamp(let micros): .string(Timestamps.format(micros: micros))
        case .json(let text): (try? JSONReader.parse(Array(text.utf8))) ?? .null
        }
    }
}
