import Foundation
import TesseraCore
import Testing

@testable import TesseraStore

/// Which filter conditions go to the slot columns of `entity_hot_numbers`, and when
/// the slot row decides alone.
@Suite struct NumberIndexPlanTests {
    static func attribute(_ id: Int32, _ name: String, _ type: ValueType, hot: Bool = true, slot: Int?) -> Attribute {
        Attribute(
            id: id,
            tenantID: 1,
            definition: AttributeDefinition(name: name, type: type, hot: hot),
            createdAt: Date(timeIntervalSince1970: 0),
            numberSlot: slot
        )
    }

    let attributes: AttributesByName = [
        "temp": Self.attribute(116, "temp", .decimal, slot: 0),
        "load": Self.attribute(108, "load", .int, slot: 3),
        "spare": Self.attribute(5, "spare", .decimal, slot: nil),  // past the sixteen slots
        "status": Self.attribute(6, "status", .text, slot: nil),
    ]

    func condition(_ name: String, _ op: FilterOperator, _ value: JSONValue?) -> EntityFilter {
        .condition(attribute: name, op: op, value: value)
    }

    @Test func rangesOnSlottedAttributesAreExactWhenTheyAreTheWholeFilter() throws {
        let filter = EntityFilter.and([
            self.condition("temp", .gt, .number(literal: "20.5", isInteger: false)),
            self.condition("load", .le, .number(literal: "7", isInteger: true)),
        ])
        let plan = try #require(NumberIndexPlan(filter, attributes: self.attributes))
        #expect(plan.isExact)
        #expect(plan.conditions == [.init(attributeID: 116, slot: 0, op: .gt, value: 20.5), .init(attributeID: 108, slot: 3, op: .le, value: 7)])
        let single = try #require(NumberIndexPlan(self.condition("temp", .eq, .number(literal: "1e3", isInteger: false)), attributes: self.attributes))
        #expect(single.isExact)
        #expect(single.conditions == [.init(attributeID: 116, slot: 0, op: .eq, value: 1000)])
    }

    @Test func otherConditionsAreCheckedOnTheProjection() throws {
        let filter = EntityFilter.and([
            self.condition("temp", .gt, .number(literal: "20", isInteger: true)),
            self.condition("status", .eq, .string("ok")),  // text: the projection decides
            self.condition("load", .ne, .number(literal: "3", isInteger: true)),  // != has no range
            self.condition("load", .lt, .string("3")),  // a string never matches a number
            self.condition("spare", .lt, .number(literal: "3", isInteger: true)),  // no slot
        ])
        let plan = try #require(NumberIndexPlan(filter, attributes: self.attributes))
        #expect(!plan.isExact)
        #expect(plan.conditions == [.init(attributeID: 116, slot: 0, op: .gt, value: 20)])
    }

    @Test func literalsPastADoublesIntegersAreLeftToTheProjection() throws {
        // 2^53 + 1 is not a double: the slot (a double) could not tell it from 2^53.
        let big = self.condition("load", .gt, .number(literal: "9007199254740993", isInteger: true))
        #expect(NumberIndexPlan(big, attributes: self.attributes) == nil)
        let filter = EntityFilter.and([big, self.condition("load", .ge, .number(literal: "-9007199254740991", isInteger: true))])
        let plan = try #require(NumberIndexPlan(filter, attributes: self.attributes))
        #expect(!plan.isExact)
        #expect(plan.conditions == [.init(attributeID: 108, slot: 3, op: .ge, value: -9_007_199_254_740_991)])
        // The same for decimals: 2^53 + 1 written as a decimal is no double either.
        #expect(NumberIndexPlan(self.condition("temp", .lt, .number(literal: "9007199254740993.0", isInteger: false)), attributes: self.attributes) == nil)
        #expect(NumberIndexPlan(self.condition("temp", .lt, .number(literal: "1e400", isInteger: false)), attributes: self.attributes) == nil)
        #expect(NumberIndexPlan(self.condition("temp", .lt, .number(literal: "-1.5e15", isInteger: false)), attributes: self.attributes)?.isExact == true)
    }

    @Test func orFiltersAndFiltersWithoutSlottedRangesHaveNoPlan() {
        let either = EntityFilter.or([
            self.condition("temp", .gt, .number(literal: "20", isInteger: true)),
            self.condition("load", .lt, .number(literal: "3", isInteger: true)),
        ])
        #expect(NumberIndexPlan(either, attributes: self.attributes) == nil)
        #expect(NumberIndexPlan(self.condition("temp", .exists, nil), attributes: self.attributes) == nil)
        #expect(NumberIndexPlan(self.condition("temp", .in, .array([.number(literal: "1", isInteger: true)])), attributes: self.attributes) == nil)
        #expect(NumberIndexPlan(self.condition("site", .gt, .number(literal: "1", isInteger: true)), attributes: self.attributes) == nil)
        let cold: AttributesByName = ["temp": Self.attribute(116, "temp", .decimal, hot: false, slot: 0)]
        #expect(NumberIndexPlan(self.condition("temp", .gt, .number(literal: "1", isInteger: true)), attributes: cold) == nil)
    }
}
