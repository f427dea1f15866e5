import TesseraCore

/// Which conditions of an entity filter `entity_latest_numbers` can answer: the
/// top-level conjuncts that compare a hot int or decimal attribute with a number
/// (`=`, `<`, `<=`, `>`, `>=`). Their matches are found through the table's
/// btree instead of reading every projection row of the tenant.
///
/// `isExact` when those conditions are the whole filter: the index alone decides,
/// so a page is cut in the index before the projection is read. Otherwise the
/// index narrows the candidates and the whole filter is checked on their
/// projection rows. A filter with an `or` at the top, or no such condition, has
/// no plan.
struct NumberIndexPlan: Equatable {
    struct Condition: Equatable {
        var attributeID: Int32
        var op: FilterOperator
        /// The number as the client wrote it, cast to `numeric` in SQL.
        var literal: String
    }

    /// Each one joins the table once more; past this, the rest are checked on the projection.
    static let maxJoined = 4

    var conditions: [Condition]
    var isExact: Bool

    /// `numberAttributes`: name → id of the tenant's hot int and decimal attributes.
    init?(_ filter: EntityFilter, numberAttributes: [String: Int32]) {
        let conjuncts: [EntityFilter]
        switch filter {
        case .and(let children): conjuncts = children
        case .condition: conjuncts = [filter]
        case .or: return nil
        }
        var conditions = [Condition]()
        var covered = 0
        for conjunct in conjuncts {
            guard case .condition(let name, let op, .number(let literal, _)?) = conjunct,
                  [.eq, .lt, .le, .gt, .ge].contains(op),
                  let id = numberAttributes[name]
            else { continue }
            covered += 1
            if conditions.count < Self.maxJoined {
                conditions.append(Condition(attributeID: id, op: op, literal: literal))
            }
        }
        guard !conditions.isEmpty else { return nil }
        self.conditions = conditions
        self.isExact = conditions.count == conjuncts.count && covered == conjuncts.count
    }
}
