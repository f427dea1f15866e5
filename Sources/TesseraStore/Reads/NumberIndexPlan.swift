import TesseraCore

/// Which conditions of an entity filter `entity_hot_numbers` can answer: the
/// top-level conjuncts that compare a hot int or decimal attribute that has a
/// number slot with a number (`=`, `<`, `<=`, `>`, `>=`). They are checked on the
/// slot columns (doubles), through the slots' indexes, instead of on every
/// projection row of the tenant.
///
/// `isExact` when those conditions are the whole filter: the slot row alone
/// decides, so a page is cut there before the projection is read. Otherwise the
/// slot conditions narrow the rows and the whole filter is checked on the
/// projection too. A filter with an `or` at the top, or no such condition, has
/// no plan.
struct NumberIndexPlan: Equatable {
    struct Condition: Equatable {
        var attributeID: Int32
        /// The column `n<slot>` of `entity_hot_numbers`.
        var slot: Int
        var op: FilterOperator
        var value: Double
    }

    /// Slots hold doubles, which hold every integer up to 2^53 but not all past it:
    /// a comparison with a larger literal is left to the projection, which compares
    /// the exact numbers.
    static let exactIntegers = 9_007_199_254_740_992.0

    var conditions: [Condition]
    var isExact: Bool

    /// `attributes`: the tenant's attributes the filter names, by name.
    init?(_ filter: EntityFilter, attributes: AttributesByName) {
        let conjuncts: [EntityFilter]
        switch filter {
        case .and(let children): conjuncts = children
        case .condition: conjuncts = [filter]
        case .or: return nil
        }
        var conditions = [Condition]()
        for conjunct in conjuncts {
            guard case .condition(let name, let op, .number(let literal, _)?) = conjunct,
                [.eq, .lt, .le, .gt, .ge].contains(op),
                let attribute = attributes[name], attribute.definition.hot,
                let slot = attribute.numberSlot,
                let value = Double(literal), abs(value) < Self.exactIntegers
            else { continue }
            conditions.append(Condition(attributeID: attribute.id, slot: slot, op: op, value: value))
        }
        guard !conditions.isEmpty else { return nil }
        self.conditions = conditions
        self.isExact = conditions.count == conjuncts.count
    }
}
