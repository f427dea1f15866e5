import Synchronization
import TesseraCore

/// A clock that stands still until the test moves it: `advance(by:)` wakes every
/// sleeper whose deadline it passes, in deadline order. Use `clock` where a service
/// takes a `ServiceClock`; `sleepers` says how many tasks wait on it now.
package final class TestClock: ServiceClockSource {
    private struct Sleeper {
        var id: Int
        var offset: Duration
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var elapsed: Duration = .zero
        var nextID = 0
        var sleepers: [Sleeper] = []
    }

    private let state = Mutex(State())

    package init() {}

    package var clock: ServiceClock { ServiceClock(source: self) }

    package var elapsed: Duration { self.state.withLock { $0.elapsed } }

    package var sleepers: Int { self.state.withLock { $0.sleepers.count } }

    package func advance(by duration: Duration) {
        let due = self.state.withLock { state -> [Sleeper] in
            state.elapsed += duration
            let now = state.elapsed
            let due = state.sleepers.filter { $0.offset <= now }.sorted { $0.offset < $1.offset }
            state.sleepers.removeAll { $0.offset <= now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    package func sleep(untilOffset offset: Duration) async throws {
        let id = self.state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow = self.state.withLock { state -> Bool in
                    if Task.isCancelled || offset <= state.elapsed { return true }
                    state.sleepers.append(Sleeper(id: id, offset: offset, continuation: continuation))
                    return false
                }
                if resumeNow {
                    if Task.isCancelled { continuation.resume(throwing: CancellationError()) } else { continuation.resume() }
                }
            }
        } onCancel: {
            let sleeper = self.state.withLock { state -> Sleeper? in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.sleepers.remove(at: index)
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }
}
