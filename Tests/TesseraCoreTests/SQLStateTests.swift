import TesseraCore
import Testing

@Suite struct SQLStateTests {
    @Test(arguments: [
        ("22003", SQLState.dataException), ("22P02", .dataException), ("23502", .constraintViolation),
        ("23505", .uniqueViolation), ("54000", .programLimit), ("57014", .queryCanceled), ("40001", .recoveryConflict),
        ("08006", .unavailable), ("08001", .unavailable), ("53300", .unavailable), ("53200", .unavailable),
        ("57P01", .unavailable), ("57P03", .unavailable), ("42P01", .other), ("", .other), ("XX000", .other),
    ])
    func eachCodeHasOneMeaning(code: String, meaning: SQLState) {
        #expect(SQLState(code) == meaning)
    }

    @Test func onlyRefusedDataGoesToQuarantine() {
        #expect(["22003", "23502", "54000"].allSatisfy { SQLState($0).refusesData })
        #expect(!["23505", "57014", "08006", "40001", "42P01"].contains { SQLState($0).refusesData })
        #expect(SQLState("57P01").nodeIsDown && !SQLState("57014").nodeIsDown)
    }
}
