import ArgumentParser
import Foundation
import TesseraCore
import TesseraServer
import TesseraStore

/// Crypto-shredding's settings for `serve` (README: Security): the master key
/// (`TESSERA_MASTER_KEY`, or the file `TESSERA_MASTER_KEY_FILE`; with the embedded
/// cluster, generated once into `<dir>/master-key`) and the key vault
/// (`TESSERA_KEY_DATABASE_URL`, or the embedded cluster's `tessera_keys` database).
/// Without both, `pii` values are refused (503 `pii_unavailable`).
enum PrivacyConfiguration {
    static func resolve(
        environment: TesseraEnvironment,
        directory: String,
        embeddedVault: DatabaseURL?
    ) throws -> ServerDependencies.PrivacySettings? {
        let vault = try environment.keyDatabaseURL.map(DatabaseURL.parsed) ?? embeddedVault
        var text = environment.masterKey
        if text == nil, let file = environment.masterKeyFile {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("TESSERA_MASTER_KEY_FILE \(file) cannot be read.")
            }
            text = String(decoding: data, as: UTF8.self)
        }
        if text == nil, embeddedVault != nil {
            text = try Self.generatedKey(directory: directory)
        }
        switch (text, vault) {
        case (nil, nil): return nil
        case (let text?, let vault?):
            do { return .init(vaultURL: vault, masterKey: try MasterKey(base64: text)) } catch { throw ValidationError(error.description) }
        case (nil, _?): throw ValidationError("TESSERA_KEY_DATABASE_URL needs a master key: TESSERA_MASTER_KEY or TESSERA_MASTER_KEY_FILE.")
        case (_?, nil): throw ValidationError("A master key needs a key vault: TESSERA_KEY_DATABASE_URL.")
        }
    }

    /// `<dir>/master-key` (mode 0600), made on first use. Written to a file of its own and
    /// linked into place, so two servers starting at once on one folder agree on one key,
    /// and none reads a key half written.
    static func generatedKey(directory: String) throws -> String {
        let path = directory + "/master-key"
        if let key = Self.readKey(path) { return key }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let temporary = "\(path).\(getpid()).new"
        let bytes = Array((MasterKey.generate() + "\n").utf8)
        // A file of this pid's left by a start that crashed (in a container, always pid 1).
        unlink(temporary)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw ValidationError("Cannot create \(temporary): \(String(cString: strerror(errno))).") }
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        defer { unlink(temporary) }
        guard written == bytes.count, synced == 0 else { throw ValidationError("Cannot write the master key to \(temporary).") }
        if link(temporary, path) != 0, errno != EEXIST {
            throw ValidationError("Cannot create \(path): \(String(cString: strerror(errno))).")
        }
        // The link itself on disk before any data key is wrapped with the key.
        let folder = open(directory, O_RDONLY)
        if folder >= 0 {
            fsync(folder)
            close(folder)
        }
        // Ours, or the one another server linked first.
        guard let key = Self.readKey(path) else { throw ValidationError("\(path) cannot be read.") }
        return key
    }

    private static func readKey(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
