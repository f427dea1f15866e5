import NIOCore
import Synchronization

/// Runs a task's jobs on one NIO event loop, for `withTaskExecutorPreference`.
///
/// A task that prefers its connection's event loop is resumed where the connection's
/// I/O completes: no thread hands the work to another one and waits for it to wake
/// up. On a small machine those wake-ups are most of a short request's time.
package final class EventLoopTaskExecutor: TaskExecutor {
    package let eventLoop: any EventLoop

    private init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        self.eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }

    /// One executor per event loop, made on first use and kept (event loops live as
    /// long as their group, which for the server is the process).
    package static func on(_ eventLoop: any EventLoop) -> EventLoopTaskExecutor {
        let id = ObjectIdentifier(eventLoop)
        return Self.executors.withLock { executors in
            if let executor = executors[id] { return executor }
            let executor = EventLoopTaskExecutor(eventLoop: eventLoop)
            executors[id] = executor
            return executor
        }
    }

    private static let executors = Mutex<[ObjectIdentifier: EventLoopTaskExecutor]>([:])
}
