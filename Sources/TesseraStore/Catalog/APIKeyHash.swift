import Crypto
import NIOCore
import TesseraCore

extension APIKey {
    /// SHA-256 of the key, as stored in `api_keys.key_hash`. Keys carry ~238 random
    /// bits, so a fast hash is enough (no password stretching needed).
    var storedHash: ByteBuffer {
        ByteBuffer(bytes: Array(SHA256.hash(data: Array(self.value.utf8))))
    }
}
