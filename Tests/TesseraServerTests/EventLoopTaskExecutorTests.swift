import NIOCore
import NIOPosix
import Testing
@testable import TesseraServer

/// A task that prefers an event loop runs there, and comes back there after awaiting
/// work another loop completes (what a request handler does with a database reply).
@Suite struct EventLoopTaskExecutorTests {
    @Test func aTaskPreferringALoopRunsOnItAndComesBackToItAfterAwaits() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loops = Array(group.makeIterator())
        let (own, other) = (loops[0], loops[1])
        #expect(!own.inEventLoop)
        let seen = try await withTaskExecutorPreference(EventLoopTaskExecutor.on(own)) {
            var seen = [own.inEventLoop]
            // Work done on the other loop, as a database connection there would.
            seen.append(try await other.scheduleTask(in: .milliseconds(5)) { other.inEventLoop && !own.inEventLoop }.futureResult.get())
            seen.append(own.inEventLoop)
            try await Task.sleep(for: .milliseconds(5))
            seen.append(own.inEventLoop)
            return seen
        }
        #expect(seen == [true, true, true, true])
        #expect(EventLoopTaskExecutor.on(own) === EventLoopTaskExecutor.on(own))
        #expect(EventLoopTaskExecutor.on(own) !== EventLoopTaskExecutor.on(other))
        try await group.shutdownGracefully()
    }
}
