import Foundation
import PostgresNIO
import TesseraCore

extension Catalog {
    /// Creates an attribute or updates its flags, unit and description. Its type is
    /// fixed at creation: a different type is an `attribute_type_conflict`.
    /// Returns the attribute and whether it was created.
    package func putAttribute(_ definition: AttributeDefinition, tenant: Tenant) async throws(TesseraError) -> (Attribute, created: Bool) {
        let definition = try definition.validated()
        let existing = try await self.attribute(named: definition.name, tenant: tenant)
        if let existing, existing.definition.type != definition.type {
            throw Self.typeConflict(existing, requested: definition.type)
        }
        if existing == nil {
            let count = try await self.attributeCount(tenant: tenant)
            if count >= tenant.settings.maxAttributes {
                throw TesseraError(
                    .quotaExceeded,
                    "The tenant has \(count) attributes, its limit; no new attribute can be created."
                )
            }
        }
        let row = try await self.run {
            let rows = try await self.client.query(
                """
                INSERT INTO attributes (tenant_id, name, value_type, hot, critical, unit, description)
                VALUES (\(tenant.id), \(definition.name), \(definition.type.rawValue), \(definition.hot),
                        \(definition.critical), \(definition.unit), \(definition.description))
                ON CONFLICT (tenant_id, name) DO UPDATE
                   SET hot = EXCLUDED.hot, critical = EXCLUDED.critical, unit = EXCLUDED.unit,
                       description = EXCLUDED.description, updated_at = now()
                 WHERE attributes.value_type = EXCLUDED.value_type
                RETURNING \(unescaped: Self.attributeColumns), (xmax = 0) AS inserted
                """,
                logger: self.logger
            )
            for try await (id, name, type, hot, critical, unit, description, createdAt, slot, inserted) in rows.decode(
                (Int32, String, String, Bool, Bool, String?, String?, Date, Int16?, Bool).self
            ) {
                let attribute = try Self.attribute(id, tenant.id, name, type, hot, critical, unit, description, createdAt, slot)
                return (attribute, inserted) as (Attribute, Bool)?
            }
            return nil
        }
        guard let row else {
            // Raced with a writer that created it with another type.
            if let current = try await self.attribute(named: definition.name, tenant: tenant) {
                throw Self.typeConflict(current, requested: definition.type)
            }
            throw TesseraError(.unavailable, "The attribute could not be stored; retry.")
        }
        return (row.0, created: row.1)
    }

    /// A tenant's attributes, by name.
    package func attributes(tenant: Tenant) async throws(TesseraError) -> [Attribute] {
        try await self.run {
            let rows = try await self.client.query(
                "SELECT \(unescaped: Self.attributeColumns) FROM attributes WHERE tenant_id = \(tenant.id) ORDER BY name",
                logger: self.logger
            )
            return try await Self.decodeAttributes(rows, tenantID: tenant.id)
        }
    }

    package func attribute(named name: String, tenant: Tenant) async throws(TesseraError) -> Attribute? {
        try await self.run {
            let rows = try await self.client.query(
                "SELECT \(unescaped: Self.attributeColumns) FROM attributes WHERE tenant_id = \(tenant.id) AND name = \(name)",
                logger: self.logger
            )
            return try await Self.decodeAttributes(rows, tenantID: tenant.id).first
        }
    }

    func attributeCount(tenant: Tenant) async throws(TesseraError) -> Int {
        try await self.run {
            let rows = try await self.client.query(
                "SELECT count(*)::bigint FROM attributes WHERE tenant_id = \(tenant.id)",
                logger: self.logger
            )
            for try await count in rows.decode(Int.self) { return count }
            return 0
        }
    }

    static let attributeColumns = "attribute_id, name, value_type, hot, critical, unit, description, created_at, number_slot"

    static func decodeAttributes(_ rows: PostgresRowSequence, tenantID: Int64) async throws -> [Attribute] {
        var attributes = [Attribute]()
        for try await (id, name, type, hot, critical, unit, description, createdAt, slot) in rows.decode(
            (Int32, String, String, Bool, Bool, String?, String?, Date, Int16?).self
        ) {
            attributes.append(try Self.attribute(id, tenantID, name, type, hot, critical, unit, description, createdAt, slot))
        }
        return attributes
    }

    // swiftlint:disable:next function_parameter_count
    static func attribute(
        _ id: Int32, _ tenantID: Int64, _ name: String, _ type: String, _ hot: Bool, _ critical: Bool,
        _ unit: String?, _ description: String?, _ createdAt: Date, _ numberSlot: Int16?
    ) throws -> Attribute {
        Attribute(
            id: id,
            tenantID: tenantID,
            definition: AttributeDefinition(
                name: name, type: try ValueType(parsing: type), hot: hot, critical: critical, unit: unit, description: description
            ),
            createdAt: createdAt,
            numberSlot: numberSlot.map(Int.init)
        )
    }

    static func typeConflict(_ existing: Attribute, requested: ValueType) -> TesseraError {
        TesseraError(
            .attributeTypeConflict,
            "Attribute '\(NameRules.printable(existing.definition.name))' has type \(existing.definition.type.rawValue); "
                + "an attribute's type is fixed at creation and cannot change to \(requested.rawValue). "
                + "Create an attribute with another name instead."
        )
    }
}
