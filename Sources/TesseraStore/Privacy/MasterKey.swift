import Crypto
import Foundation
import TesseraCore

/// The operator's master key (README: Security, "Crypto-shredding"): 32 random bytes,
/// given base64-encoded (`TESSERA_MASTER_KEY`, or a file). It wraps every entity's data
/// key and is never stored by Tessera; on AWS it would be a KMS key.
package struct MasterKey: Sendable {
    let bytes: Data
    var key: SymmetricKey { SymmetricKey(data: self.bytes) }

    package init(base64 text: String) throws(TesseraError) {
        guard let bytes = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), bytes.count == 32 else {
            throw TesseraError(.invalidParameter, "The master key must be 32 bytes, base64-encoded (openssl rand -base64 32).")
        }
        self.bytes = bytes
    }

    /// A new random key, base64-encoded.
    package static func generate() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
    }
}

/// One entity's data key (AES-256), as bytes: what encrypts its `pii` values.
package struct DataKey: Sendable {
    let bytes: Data
    var key: SymmetricKey { SymmetricKey(data: self.bytes) }

    init(_ key: SymmetricKey) { self.bytes = key.withUnsafeBytes { Data($0) } }
    init(bytes: Data) { self.bytes = bytes }
}
