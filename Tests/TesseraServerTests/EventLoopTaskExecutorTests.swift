import NIOCore
import NIOPosix
import Testing

@testable import TesseraServer

/// A task that prefers an event loop runs there, and comes back there after awaiting
/// work another loop completes (what a request handler does with a database reply).
@Suite struct EventLoopTaskExecutorTests {
    @Test func aTaskPreferringALoopRunsOnItAndComesBackToItAfterAwaits() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        do {
            let loops = Array(group.makeIterator())
            let (own, other) = (loops[0], loops[1])
            #expect(!own.inEventLoop)
            let onOwnLoop = try await withTaskExecutorPreference(EventLoopTaskExecutor.on(own)) {
                var onOwnLoop = [own.inEventLoop]
                // A reply completed on the other loop, as a database connection there would.
                try await other.scheduleTask(in: .milliseconds(5)) {}.futureResult.get()
                onOwnLoop.append(own.inEventLoop)
                // A timer of the concurrency runtime's, completed on none of the loops.
                try await Task.sleep(for: .milliseconds(5))
                onOwnLoop.append(own.inEventLoop)
                return onOwnLoop
            }
            #expect(onOwnLoop == [true, true, true])
            #expect(EventLoopTaskExecutor.on(own) === EventLoopTaskExecutor.on(own))
            #expect(EventLoopTaskExecutor.on(own) !== EventLoopTaskExecutor.on(other))
        } catch {
            try await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }
}
