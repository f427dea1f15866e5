import Crypto
import Foundation
import Logging
import PostgresNIO
import TesseraCore

/// Each entity's data key (AES-256, made at its first `pii` value), wrapped under the
/// master key, in a database apart from the data (`TESSERA_KEY_DATABASE_URL`): erasing
/// an entity or a data subject deletes its row here, and every copy of its `pii` values
/// (the data's backups, WAL archives, replicas, exports of the table) can no longer be
/// read, without being touched. The vault itself must be backed up apart from the data,
/// and kept only as long as an erasure may take to reach those backups (README).
///
/// Nothing is cached: a request that writes or reads `pii` values asks the vault once
/// for the keys of its entities, so no server keeps using a destroyed key.
package struct DataKeyVault: Sendable {
    package let client: PostgresClient
    let master: MasterKey
    package let logger: Logger

    package init(client: PostgresClient, master: MasterKey, logger: Logger) {
        self.client = client
        self.master = master
        self.logger = logger
    }

    /// Makes the vault's table when it is missing.
    package func prepare() async throws {
        try await self.client.liveQuery(
            """
            CREATE TABLE IF NOT EXISTS tessera_data_keys (
                tenant_id  bigint      NOT NULL,
                entity_id  bigint      NOT NULL,
                wrapped    bytea       NOT NULL,   -- nonce, the data key sealed under the master key, tag
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, entity_id)
            )
            """,
            logger: self.logger
        )
    }

    /// The data keys of these entities that exist; with `creating`, made for those that
    /// have none yet. A key the master key cannot open (another master key) is left out.
    package func keys(tenant: Int64, entities: [Int64], creating: Bool) async throws -> [Int64: DataKey] {
        let wanted = Array(Set(entities)).sorted()
        guard !wanted.isEmpty else { return [:] }
        var found = try await self.load(tenant: tenant, entities: wanted)
        let missing = wanted.filter { found[$0] == nil }
        if creating, !missing.isEmpty {
            var wrapped = [String]()
            for entity in missing {
                let key = DataKey(SymmetricKey(size: .bits256))
                wrapped.append(try self.wrap(key, tenant: tenant, entity: entity).base64EncodedString())
            }
            // Another server may make one at the same time: the first one stored is everyone's.
            try await self.client.liveQuery(
                """
                INSERT INTO tessera_data_keys (tenant_id, entity_id, wrapped)
                SELECT \(tenant), id, decode(w, 'base64') FROM unnest(\(missing)::bigint[], \(wrapped)::text[]) AS u (id, w)
                ON CONFLICT (tenant_id, entity_id) DO NOTHING
                """,
                logger: self.logger
            )
            found.merge(try await self.load(tenant: tenant, entities: missing)) { first, _ in first }
        }
        return found
    }

    /// Destroys the data keys of these entities; returns how many existed.
    @discardableResult
    package func destroy(tenant: Int64, entities: [Int64]) async throws -> Int {
        guard !entities.isEmpty else { return 0 }
        let rows = try await self.client.liveQuery(
            "WITH gone AS (DELETE FROM tessera_data_keys WHERE tenant_id = \(tenant) AND entity_id = ANY(\(entities)) RETURNING 1) SELECT count(*) FROM gone",
            logger: self.logger
        )
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }

    private func load(tenant: Int64, entities: [Int64]) async throws -> [Int64: DataKey] {
        let rows = try await self.client.liveQuery(
            // encode() breaks base64 into lines of 76 characters.
            "SELECT entity_id, encode(wrapped, 'base64') FROM tessera_data_keys WHERE tenant_id = \(tenant) AND entity_id = ANY(\(entities))",
            logger: self.logger
        )
        var keys = [Int64: DataKey]()
        for try await (entity, wrapped) in rows.decode((Int64, String).self) {
            guard let data = Data(base64Encoded: wrapped, options: .ignoreUnknownCharacters), let key = self.unwrap(data, tenant: tenant, entity: entity) else {
                self.logger.error("A data key does not open with the master key", metadata: ["tenant": "\(tenant)", "entity": "\(entity)"])
                continue
            }
            keys[entity] = key
        }
        return keys
    }

    private func wrap(_ key: DataKey, tenant: Int64, entity: Int64) throws -> Data {
        let box = try AES.GCM.seal(key.bytes, using: self.master.key, authenticating: Self.context(tenant, entity))
        guard let combined = box.combined else { throw CryptoKitError.incorrectParameterSize }
        return combined
    }

    private func unwrap(_ data: Data, tenant: Int64, entity: Int64) -> DataKey? {
        guard let box = try? AES.GCM.SealedBox(combined: data),
            let bytes = try? AES.GCM.open(box, using: self.master.key, authenticating: Self.context(tenant, entity))
        else { return nil }
        return DataKey(bytes: bytes)
    }

    static func context(_ tenant: Int64, _ entity: Int64) -> Data {
        Data("tessera-dek-v1:\(tenant):\(entity)".utf8)
    }
}
