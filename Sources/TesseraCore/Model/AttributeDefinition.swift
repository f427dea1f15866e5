import Foundation

/// What a tenant declares about one attribute.
package struct AttributeDefinition: Sendable, Equatable {
    package var name: String
    package var type: ValueType
    /// Kept in the hot projection (`entity_jsonb`), so it can be filtered on and read in one lookup.
    package var hot: Bool
    /// Written synchronously, bypassing the staging table.
    package var critical: Bool
    package var unit: String?
    package var description: String?
    /// Personal data: stored encrypted under the entity's data key, never hot, never
    /// filtered or aggregated on. Fixed at creation.
    package var pii: Bool

    package init(
        name: String,
        type: ValueType,
        hot: Bool = false,
        critical: Bool = false,
        unit: String? = nil,
        description: String? = nil,
        pii: Bool = false
    ) {
        self.name = name
        self.type = type
        self.hot = hot
        self.critical = critical
        self.unit = unit
        self.description = description
        self.pii = pii
    }

    /// Checks every field against the catalog's rules.
    package func validated() throws(TesseraError) -> AttributeDefinition {
        try NameRules.validateAttributeName(self.name)
        if let unit {
            try NameRules.validateFreeText(unit, field: "unit", maxLength: NameRules.maxUnitLength)
        }
        if let description {
            try NameRules.validateFreeText(description, field: "description", maxLength: NameRules.maxDescriptionLength)
        }
        if self.pii, self.hot {
            throw TesseraError(
                .invalidParameter,
                "A pii attribute cannot be hot: the projection and its index hold plain values. Read it by naming it (?attributes=)."
            )
        }
        return self
    }
}

/// An attribute as the catalog stores it.
package struct Attribute: Sendable, Equatable {
    package var id: Int32
    package var tenantID: Int64
    package var definition: AttributeDefinition
    package var createdAt: Date
    /// The column (0-15) of `entity_hot_numbers` that holds the attribute's latest
    /// values, for a hot int or decimal attribute among the tenant's first sixteen.
    package var numberSlot: Int?

    package init(id: Int32, tenantID: Int64, definition: AttributeDefinition, createdAt: Date, numberSlot: Int? = nil) {
        self.id = id
        self.tenantID = tenantID
        self.definition = definition
        self.createdAt = createdAt
        self.numberSlot = numberSlot
    }
}
