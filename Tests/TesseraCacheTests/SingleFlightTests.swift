import Synchronization
import TesseraCache
import Testing

/// Concurrent misses share one computation: no server needed.
@Suite struct SingleFlightTests {
    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    @Test func concurrentCallersForOneKeyShareOneRun() async throws {
        let flights = SingleFlight<Int>()
        let runs = Counter()
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    try await flights.run("key") {
                        runs.value.add(1, ordering: .relaxed)
                        try await Task.sleep(for: .milliseconds(200))
                        return 42
                    }
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(results == Array(repeating: 42, count: 20))
        #expect(runs.value.load(ordering: .relaxed) == 1)
        #expect(flights.inFlight == 0)
        // Once done, the next call runs again; other keys never share.
        _ = try await flights.run("key") {
            runs.value.add(1, ordering: .relaxed)
            return 1
        }
        _ = try await flights.run("other") {
            runs.value.add(1, ordering: .relaxed)
            return 2
        }
        #expect(runs.value.load(ordering: .relaxed) == 3)
    }

    @Test func aFailureReachesEveryWaiterAndIsNotKept() async throws {
        struct Boom: Error {}
        let flights = SingleFlight<Int>()
        await #expect(throws: Boom.self) {
            try await flights.run("key") { throw Boom() }
        }
        #expect(try await flights.run("key") { 7 } == 7)
    }
}
