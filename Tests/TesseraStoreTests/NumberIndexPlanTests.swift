import Testing
import TesseraCore
@testable import TesseraStore

/// Which filter conditions go to `entity_latest_numbers`, and when the index decides alone.
@Suite struct NumberIndexPlanTests {
    let numbers: [String: Int32] = ["temp": 1, "load": 2]

    func condition(_ name: String, _ op: FilterOperator, _ value: JSONValue?) -> EntityFilter {
        .condition(attribute: name, op: op, value: value)
    }

    @Test func rangesOnNumberAttributesAreExactWhenTheyAreTheWholeFilter() throws {
        let filter = EntityFilter.and([
            self.condition("temp", .gt, .number(literal: "20.5", isInteger: false)),
            self.condition("load", .le, .number(literal: "7", isInteger: true)),
        ])
        let plan = try #require(NumberIndexPlan(filter, numberAttributes: self.numbers))
        #expect(plan.isExact)
        #expect(plan.conditions == [.init(attributeID: 1, op: .gt, literal: "20.5"), .init(attributeID: 2, op: .le, literal: "7")])
        #expect(NumberIndexPlan(self.condition("temp", .eq, .number(literal: "1e3", isInteger: false)), numberAttributes: self.numbers)?.isExact == true)
    }

    @Test func otherConditionsLeaveTheIndexANarrowingStep() throws {
        let filter = EntityFilter.and([
            self.condition("temp", .gt, .number(literal: "20", isInteger: true)),
            self.condition("status", .eq, .string("ok")),   // text: the projection decides
            self.condition("load", .ne, .number(literal: "3", isInteger: true)),   // != has no range
            self.condition("load", .lt, .string("3")),   // a string never matches a number
        ])
        let plan = try #require(NumberIndexPlan(filter, numberAttributes: self.numbers))
        #expect(!plan.isExact)
        #expect(plan.conditions == [.init(attributeID: 1, op: .gt, literal: "20")])
    }

    @Test func orFiltersAndFiltersWithoutNumberRangesHaveNoPlan() {
        let either = EntityFilter.or([
            self.condition("temp", .gt, .number(literal: "20", isInteger: true)),
            self.condition("load", .lt, .number(literal: "3", isInteger: true)),
        ])
        #expect(NumberIndexPlan(either, numberAttributes: self.numbers) == nil)
        #expect(NumberIndexPlan(self.condition("temp", .exists, nil), numberAttributes: self.numbers) == nil)
        #expect(NumberIndexPlan(self.condition("temp", .in, .array([.number(literal: "1", isInteger: true)])), numberAttributes: self.numbers) == nil)
        #expect(NumberIndexPlan(self.condition("site", .gt, .number(literal: "1", isInteger: true)), numberAttributes: self.numbers) == nil)
    }

    @Test func joinsStopAtTheCapAndTheRestIsCheckedOnTheProjection() throws {
        let many = EntityFilter.and((0..<(NumberIndexPlan.maxJoined + 2)).map { index in
            self.condition("temp", .gt, .number(literal: "\(index)", isInteger: true))
        })
        let plan = try #require(NumberIndexPlan(many, numberAttributes: self.numbers))
        #expect(plan.conditions.count == NumberIndexPlan.maxJoined)
        #expect(!plan.isExact)
    }
}
