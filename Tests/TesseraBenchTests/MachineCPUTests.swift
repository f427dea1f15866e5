import Testing
import tessera_bench

/// The benchmark's CPU accounting, as a parser and a sum: no server.
@Suite struct MachineCPUTests {
    @Test func busySecondsAreUserNiceSystemIrqAndSoftirqInHundredths() throws {
        let stat = """
            cpu  1652 7 1050 29196 46 3 13 1 0 0
            cpu0 500 0 523 14918 3 0 8 1 0 0
            intr 68520 0 0
            """
        // 1652 + 7 + 1050 + 3 + 13 ticks; idle (29196), iowait (46) and steal (1) are not busy.
        #expect(try #require(MachineCPU.busySeconds(procStat: stat)) == 27.25)
    }

    @Test func aStatWithoutTheTotalLineIsNotRead() {
        #expect(MachineCPU.busySeconds(procStat: "cpu0 500 0 523 14918 3 0 8\n") == nil)
        #expect(MachineCPU.busySeconds(procStat: "cpu  1 2\n") == nil)
        #expect(MachineCPU.busySeconds(procStat: "") == nil)
    }

    @Test func costIsCPUOverTheValuesOfEveryRun() throws {
        var cost = CPUCost()
        cost.add("InfluxDB", values: 1_000_000, cpu: .init(seconds: 3))
        cost.add("InfluxDB", values: 1_000_000, cpu: .init(seconds: 5))
        cost.add("Tessera", values: 400_000, cpu: .init(seconds: 8))
        cost.add("PostgreSQL COPY", values: 2_000_000, cpu: .init(seconds: 10))
        cost.add("PostgreSQL COPY", values: 2_000_000, cpu: nil)
        #expect(try #require(cost.microseconds("InfluxDB")) == 4)
        #expect(try #require(cost.microseconds("Tessera")) == 20)
        // One run unread: no figure rather than a figure of the others alone.
        #expect(cost.microseconds("PostgreSQL COPY") == nil)
        #expect(cost.microseconds("naive EAV") == nil)
    }

    @Test func aRunThatNeverSawAQuietMachineMarksItsSystem() throws {
        var cost = CPUCost()
        cost.add("Tessera", values: 1_000_000, cpu: .init(seconds: 20))
        cost.add("InfluxDB", values: 1_000_000, cpu: .init(seconds: 4))
        cost.add("InfluxDB", values: 1_000_000, cpu: .init(seconds: 6, settled: false))
        #expect(!cost.isUnsettled("Tessera"))
        #expect(cost.isUnsettled("InfluxDB"), "one of its runs ended at the wait's limit")
        #expect(try #require(cost.microseconds("InfluxDB")) == 5, "the figure is still given, with the mark beside it")
    }
}
