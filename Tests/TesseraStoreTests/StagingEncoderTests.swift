import NIOCore
import TesseraCore
import TesseraStore
import Testing

/// What the writers stage: the rows of a batch as `prepare` keeps and orders them, and
/// the COPY text `encode` makes of them (pure: no server).
@Suite struct StagingEncoderTests {
    private func row(_ tenant: Int64, _ entity: Int64, _ attribute: Int32, _ time: Int64, _ value: PointValue) -> IngestRow {
        IngestRow(tenantID: tenant, entityID: entity, attributeID: attribute, value: value, timestamp: time)
    }

    @Test func theLastWriteOfAPointInABatchWinsAndRowsComeInKeyOrder() {
        let rows = [
            self.row(1, 2, 1, 10, .int(2)), self.row(1, 1, 1, 10, .int(1)), self.row(1, 1, 1, 10, .int(3)),
            self.row(1, 1, 1, 11, .int(4)), self.row(1, 2, 1, 10, .int(5)), self.row(1, 1, 1, 10, .int(6)),
        ]
        #expect(StagingEncoder.prepare(rows) == [self.row(1, 1, 1, 10, .int(6)), self.row(1, 1, 1, 11, .int(4)), self.row(1, 2, 1, 10, .int(5))])
        let distinct = [self.row(2, 1, 1, 1, .int(1)), self.row(1, 9, 2, 2, .int(2)), self.row(1, 9, 1, 3, .int(3))]
        #expect(StagingEncoder.prepare(distinct) == [distinct[2], distinct[1], distinct[0]])
        #expect(StagingEncoder.prepare([]) == [])
    }

    @Test func eachRowIsOneLineOfItsOwnTenantEntityTypeAndTime() {
        // Owners and times change between rows and come back: no row may carry its neighbour's.
        let rows = [
            self.row(1, 10, 3, 10, .decimal(2.5)),
            self.row(1, 10, 4, 10, .text("a\tb\\c\nd")),
            self.row(1, 11, 3, 10, .bool(true)),
            self.row(2, 11, 3, 86_400_000_001, .int(-7)),
            self.row(2, 11, 5, 10, .timestamp(0)),
            self.row(1, 10, 6, 10, .json("{\"k\": 1}")),
        ]
        let text = String(buffer: StagingEncoder.encode(rows, batchID: 77))
        let n = "\\N"
        let epoch10 = "1970-01-01T00:00:00.000010Z"
        #expect(
            text.split(separator: "\n", omittingEmptySubsequences: false) == [
                "1\t10\t3\t\(n)\t2.5\t\(n)\t\(n)\t\(n)\t\(n)\t\(epoch10)\t77",
                "1\t10\t4\t\(n)\t\(n)\ta\\tb\\\\c\\nd\t\(n)\t\(n)\t\(n)\t\(epoch10)\t77",
                "1\t11\t3\t\(n)\t\(n)\t\(n)\tt\t\(n)\t\(n)\t\(epoch10)\t77",
                "2\t11\t3\t-7\t\(n)\t\(n)\t\(n)\t\(n)\t\(n)\t1970-01-02T00:00:00.000001Z\t77",
                "2\t11\t5\t\(n)\t\(n)\t\(n)\t\(n)\t1970-01-01T00:00:00.000000Z\t\(n)\t\(epoch10)\t77",
                "1\t10\t6\t\(n)\t\(n)\t\(n)\t\(n)\t\(n)\t{\"k\": 1}\t\(epoch10)\t77",
                "",
            ]
        )
    }

    @Test func aTenantsPartOfABatchIsEncodedAsItsRowsAlone() {
        // The writers encode each tenant's run of a sorted batch: a slice that starts past 0.
        let rows = [self.row(1, 1, 1, 5, .int(1)), self.row(2, -3, 2, -1, .int(2)), self.row(2, -3, 3, -1, .decimal(-0.5))]
        let text = String(buffer: StagingEncoder.encode(rows[1...], batchID: 9))
        let before = "1969-12-31T23:59:59.999999Z"
        #expect(text == "2\t-3\t2\t2\t\\N\t\\N\t\\N\t\\N\t\\N\t\(before)\t9\n2\t-3\t3\t\\N\t-0.5\t\\N\t\\N\t\\N\t\\N\t\(before)\t9\n")
    }
}
