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
        let race = Race<T>()
        let work = Mutex<Task<Void, Never>?>(nil)
        // Cancelling the caller ends the wait at once (and cancels the operation), as the
        // deadline does.
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard race.start(continuation) else { return }
                let task = Task {
                    do { race.finish(.success(try await operation())) } catch { race.finish(.failure(error)) }
                }
                work.withLock { $0 = task }
                let timer = Task {
                    try await Task.sleep(for: deadline)
                    if race.finish(.failure(Exceeded(what: what, deadline: deadline))) { task.cancel() }
                }
                race.onFinish { timer.cancel() }
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
