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

    /// One executor per event loop, made on first use and kept (it keeps its loop
    /// alive, so a loop's identifier is never reused for another). The loop must run
    /// until every task preferring it has finished: a job enqueued on a loop that has
    /// shut down is dropped, and its task never resumes. The server's loops are the
    /// process's, which never shut down.
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
