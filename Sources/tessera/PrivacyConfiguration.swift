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

    /// `<dir>/master-key` (mode 0600), made on first use.
    static func generatedKey(directory: String) throws -> String {
        let path = directory + "/master-key"
        if let data = FileManager.default.contents(atPath: path), !data.isEmpty {
            return String(decoding: data, as: UTF8.self)
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let key = MasterKey.generate()
        FileManager.default.createFile(atPath: path, contents: Data((key + "\n").utf8), attributes: [.posixPermissions: 0o600])
        return key
    }
}
