import Foundation
import PostgresNIO
import TesseraCore

extension Catalog {
    /// Creates an attribute or updates its flags, unit and description. Its type is
    /// fixed at creation: a different type is an `attribute_type_conflict`.
    /// Returns the attribute and whether it was created.
    package func putAttribute(_ definition: AttributeDefinition, tenant: Tenant) async throws(TesseraError) -> (Attribute, created: Bool) {
        let definition = try definition.validated()
        // Updated in place when it exists, else created under the tenant's cap, race-free
        // and without burning identity values (migration 0011).
        let outcome = try await self.run {
            let rows = try await self.client.liveQuery(
                """
                SELECT put_attribute(\(tenant.id), \(definition.name), \(definition.type.rawValue), \(definition.hot),
                                     \(definition.critical), \(definition.unit), \(definition.description), \(definition.pii))
                """,
                logger: self.logger
            )
            for try await outcome in rows.decode(String.self) { return outcome }
            return "missing"
        }
        guard let attribute = try await self.attribute(named: definition.name, tenant: tenant) else {
            if outcome == "quota" {
                throw TesseraError(
                    .quotaExceeded,
                    "The tenant has \(tenant.settings.maxAttributes) attributes, its limit; no new attribute can be created."
                )
            }
            throw TesseraError(.unavailable, "The attribute could not be stored; retry.")
        }
        if outcome == "type_conflict" {
            throw Self.typeConflict(attribute, requested: definition.type)
        }
        if outcome == "pii_conflict" {
            throw TesseraError(
                .attributeTypeConflict,
                "Attribute '\(NameRules.printable(attribute.definition.name))' is \(attribute.definition.pii ? "" : "not ")pii; "
                    + "whether an attribute holds personal data is fixed at creation. Create an attribute with another name instead."
            )
        }
        return (attribute, created: outcome == "created")
    }

    /// A tenant's attributes, by name.
    package func attributes(tenant: Tenant) async throws(TesseraError) -> [Attribute] {
        try await self.run {
            let query: PostgresQuery = "SELECT \(unescaped: Self.attributeColumns) FROM attributes WHERE tenant_id = \(tenant.id) ORDER BY name"
            let rows = try await self.client.liveQuery(TenantScope.read(query, tenant: tenant.id), logger: self.logger)
            return try await Self.decodeAttributes(try await rows.collect(), tenantID: tenant.id)
        }
    }

    package func attribute(named name: String, tenant: Tenant) async throws(TesseraError) -> Attribute? {
        try await self.run {
            let query: PostgresQuery = "SELECT \(unescaped: Self.attributeColumns) FROM attributes WHERE tenant_id = \(tenant.id) AND name = \(name)"
            let rows = try await self.client.liveQuery(TenantScope.read(query, tenant: tenant.id), logger: self.logger)
            return try await Self.decodeAttributes(try await rows.collect(), tenantID: tenant.id).first
        }
    }

    static let attributeColumns = "attribute_id, name, value_type, hot, critical, unit, description, created_at, number_slot, pii"

    static func decodeAttributes(_ rows: [PostgresRow], tenantID: Int64) async throws -> [Attribute] {
        var attributes = [Attribute]()
        for (id, name, type, hot, critical, unit, description, createdAt, slot, pii) in try rows.decode(
            (Int32, String, String, Bool, Bool, String?, String?, Date, Int16?, Bool).self
        ) {
            var attribute = try Self.attribute(id, tenantID, name, type, hot, critical, unit, description, createdAt, slot)
            attribute.definition.pii = pii
            attributes.append(attribute)
        }
        return attributes
    }

    // swiftlint:disable:next function_parameter_count
    static func attribute(
        _ id: Int32,
        _ tenantID: Int64,
        _ name: String,
        _ type: String,
        _ hot: Bool,
        _ critical: Bool,
        _ unit: String?,
        _ description: String?,
        _ createdAt: Date,
        _ numberSlot: Int16?
    ) throws -> Attribute {
        Attribute(
            id: id,
            tenantID: tenantID,
            definition: AttributeDefinition(
                name: name,
                type: try ValueType(parsing: type),
                hot: hot,
                critical: critical,
                unit: unit,
                description: description
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
