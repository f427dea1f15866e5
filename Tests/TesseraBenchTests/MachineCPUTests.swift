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
        cost.add("InfluxDB", values: 1_000_000, cpu: 3)
        cost.add("InfluxDB", values: 1_000_000, cpu: 5)
        cost.add("Tessera", values: 400_000, cpu: 8)
        cost.add("PostgreSQL COPY", values: 2_000_000, cpu: 10)
        cost.add("PostgreSQL COPY", values: 2_000_000, cpu: nil)
        #expect(try #require(cost.microseconds("InfluxDB")) == 4)
        #expect(try #require(cost.microseconds("Tessera")) == 20)
        // One run unread: no figure rather than a figure of the others alone.
        #expect(cost.microseconds("PostgreSQL COPY") == nil)
        #expect(cost.microseconds("naive EAV") == nil)
    }
}
