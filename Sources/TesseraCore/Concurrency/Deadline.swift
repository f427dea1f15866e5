import Synchronization

/// Runs an operation against a deadline: its result, or `Deadline.Exceeded` once the
/// deadline passes. The operation is then cancelled and left behind; nobody waits for
/// it, so one that ignores cancellation (a continuation a driver never resumes) cannot
/// hold its caller forever.
package enum Deadline {
    package struct Exceeded: Error, CustomStringConvertible {
        package let what: String
        package let deadline: Duration
        package var description: String { "\(self.what) did not finish within \(self.deadline)" }
    }

    package static func run<T: Sendable>(
        within deadline: Duration,
        _ what: String,
        _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await self.race(operation) { race, work in
            let timer = Task {
                try await Task.sleep(for: deadline)
                if race.finish(.failure(Exceeded(what: what, deadline: deadline))) { work.cancel() }
            }
            race.onFinish { timer.cancel() }
        }
    }

    /// What ended an operation before it finished: the resource it works on was lost.
    package struct Abandoned: Error, CustomStringConvertible {
        package let what: String
        package let reason: String
        package var description: String { "\(self.what) was abandoned: \(self.reason)" }
    }

    /// Runs an operation until it finishes or `register`'s signal comes (a connection it
    /// works on closed), whichever is first; then `Abandoned` is thrown at once and the
    /// operation is left behind, not cancelled: it failed or will never answer (PostgresNIO
    /// trapped on a COPY cancelled after its connection closed; the server no longer COPYs,
    /// see `StagedPoints`).
    ///
    /// PostgresNIO drops a query written to a connection that has already closed: it is
    /// never answered, not even with an error (the channel's handlers are gone, and the
    /// write's promise is nil). A connection that dies between two statements of a
    /// transaction (a failover) would hold its caller, its pool lease and so the pool's
    /// shutdown forever; with the connection's close as the signal, the caller gets its
    /// error when the connection goes.
    package static func run<T: Sendable>(
        _ what: String,
        abandonedWhen register: (@escaping @Sendable (_ reason: String) -> Void) -> Void,
        _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await self.race(operation) { race, _ in
            register { reason in race.finish(.failure(Abandoned(what: what, reason: reason))) }
        }
    }

    /// The operation in a task of its own, raced by what `arm` sets up; the caller's
    /// cancellation ends the wait at once (and cancels the operation), as the others do.
    private static func race<T: Sendable>(
        _ operation: @escaping @Sendable () async throws -> T,
        arm: (Race<T>, Task<Void, Never>) -> Void
    ) async throws -> T {
        let race = Race<T>()
        let work = Mutex<Task<Void, Never>?>(nil)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard race.start(continuation) else { return }
                let task = Task {
                    do { race.finish(.success(try await operation())) } catch { race.finish(.failure(error)) }
                }
                work.withLock { $0 = task }
                arm(race, task)
            }
        } onCancel: {
            if race.finish(.failure(CancellationError())) { work.withLock { $0 }?.cancel() }
        }
    }

    /// The first of an operation and its timer to finish resumes the caller.
    private final class Race<T: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<T, any Error>?
            var finished = false
            var cleanup: (@Sendable () -> Void)?
        }

        private let state = Mutex(State())

        /// Hands over the caller's continuation. False if the race was already decided (a
        /// cancellation came first): the caller is then resumed at once and nothing starts.
        func start(_ continuation: CheckedContinuation<T, any Error>) -> Bool {
            let decided = self.state.withLock { state -> Bool in
                if state.finished { return true }
                state.continuation = continuation
                return false
            }
            if decided { continuation.resume(throwing: CancellationError()) }
            return !decided
        }

        /// Runs `cleanup` once the race is decided (at once if it already is).
        func onFinish(_ cleanup: @escaping @Sendable () -> Void) {
            let runNow = self.state.withLock { state -> Bool in
                if state.finished { return true }
                state.cleanup = cleanup
                return false
            }
            if runNow { cleanup() }
        }

        /// Resumes the caller unless the race was already decided; true if this call decided it.
        @discardableResult
        func finish(_ result: Result<T, any Error>) -> Bool {
            let (continuation, cleanup) = self.state.withLock { state -> (CheckedContinuation<T, any Error>?, (@Sendable () -> Void)?) in
                guard !state.finished else { return (nil, nil) }
                state.finished = true
                defer {
                    state.continuation = nil
                    state.cleanup = nil
                }
                return (state.continuation, state.cleanup)
            }
            guard let continuation else { return false }
            continuation.resume(with: result)
            cleanup?()
            return true
        }
    }
}
