import Testing

@testable import TesseraCache

/// The pool's decisions, without connections or time.
@Suite struct RedisPoolStateMachineTests {
    @Test func theFirstCommandStartsEverySlotAndWaits() {
        var machine = RedisPoolStateMachine<String>(connections: 3)
        let first = machine.lease()
        #expect(first.start == [0, 1, 2])
        guard case .wait = first.action else {
            Issue.record("expected to wait")
            return
        }
        machine.addWaiter(1)
        machine.addWaiter(2)
        // Nothing is started twice.
        #expect(machine.lease().start.isEmpty)
        #expect(machine.connected(slot: 1, "c1") == [1, 2])
        #expect(machine.waiters.isEmpty)
    }

    @Test func commandsGoRoundRobinOverConnectedSlots() {
        var machine = RedisPoolStateMachine<String>(connections: 3)
        _ = machine.lease()
        _ = machine.connected(slot: 0, "c0")
        _ = machine.connected(slot: 2, "c2")
        let used = (0..<4).compactMap { _ -> String? in
            if case .use(let connection) = machine.lease().action { return connection }
            return nil
        }
        #expect(used == ["c0", "c2", "c0", "c2"])
        // A closed connection the driver has not reported yet is passed over.
        guard case .use("c2") = machine.lease(usable: { $0 != "c0" }).action else {
            Issue.record("expected c2")
            return
        }
    }

    @Test func aCommandTakesAConnectionOnItsOwnThreadWhenThereIsOne() {
        var machine = RedisPoolStateMachine<String>(connections: 3)
        _ = machine.lease()
        for slot in 0..<3 { _ = machine.connected(slot: slot, "c\(slot)") }
        let onThisThread = (0..<3).compactMap { _ -> String? in
            if case .use(let connection) = machine.lease(preferred: { $0 == "c1" }).action { return connection }
            return nil
        }
        #expect(onThisThread == ["c1", "c1", "c1"])
        // Closed, it is passed over like any other: the others take turns.
        let others = (0..<2).compactMap { _ -> String? in
            if case .use(let connection) = machine.lease(usable: { $0 != "c1" }, preferred: { $0 == "c1" }).action { return connection }
            return nil
        }
        #expect(Set(others) == ["c0", "c2"])
    }

    @Test func whenEverySlotBacksOffCommandsFailAtOnce() {
        var machine = RedisPoolStateMachine<String>(connections: 2)
        _ = machine.lease()
        machine.addWaiter(7)
        let refused = RedisError(.connection, "Could not connect to Redis at 127.0.0.1:1: connection refused.")
        // One slot still connecting: the waiter keeps waiting.
        #expect(machine.connectFailed(slot: 0, error: refused).isEmpty)
        #expect(machine.connectFailed(slot: 1, error: refused) == [7])
        guard case .fail(let error) = machine.lease().action else {
            Issue.record("expected to fail fast")
            return
        }
        #expect(error.kind == .connection)
        #expect(error.message.contains("connection refused"))

        // A slot whose backoff ran out is connecting again: commands wait for it.
        machine.connecting(slot: 1)
        guard case .wait = machine.lease().action else {
            Issue.record("expected to wait")
            return
        }
        #expect(machine.connected(slot: 1, "c1") == [])
        guard case .use("c1") = machine.lease().action else {
            Issue.record("expected c1")
            return
        }
    }

    @Test func aWrongPasswordStaysAnAuthenticationError() {
        var machine = RedisPoolStateMachine<String>(connections: 1)
        _ = machine.lease()
        _ = machine.connectFailed(slot: 0, error: RedisError(serverReply: "WRONGPASS invalid username-password pair or user is disabled."))
        guard case .fail(let error) = machine.lease().action else {
            Issue.record("expected to fail")
            return
        }
        #expect(error.kind == .authentication)
        #expect(error.message.contains("WRONGPASS"))
    }

    @Test func aLostConnectionReconnectsAndCommandsWaitForIt() {
        var machine = RedisPoolStateMachine<String>(connections: 1)
        _ = machine.lease()
        _ = machine.connected(slot: 0, "c0")
        machine.disconnected(slot: 0)
        guard case .wait = machine.lease().action else {
            Issue.record("expected to wait")
            return
        }
        machine.addWaiter(3)
        let removed = machine.removeWaiter(3)
        let removedAgain = machine.removeWaiter(3)
        #expect(removed)
        #expect(!removedAgain)
    }

    @Test func shutDownFailsWaitersAndLaterCommands() {
        var machine = RedisPoolStateMachine<String>(connections: 2)
        _ = machine.lease()
        machine.addWaiter(1)
        #expect(machine.shutDown() == [1])
        #expect(machine.connected(slot: 0, "late") == nil)
        guard case .fail(let error) = machine.lease().action else {
            Issue.record("expected to fail")
            return
        }
        #expect(error.kind == .shutdown)
    }

    @Test func backoffDoublesUpToItsCap() {
        let backoff = RedisClient.Configuration.Backoff(initial: .milliseconds(50), maximum: .seconds(5))
        #expect(
            (1...9).map { backoff.delay(afterFailures: $0) } == [
                .milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800),
                .milliseconds(1600), .milliseconds(3200), .seconds(5), .seconds(5),
            ]
        )
        #expect(backoff.delay(afterFailures: 1_000) == .seconds(5))
        for _ in 0..<100 {
            let jittered = backoff.jittered(.seconds(4))
            #expect(jittered >= .seconds(3) && jittered <= .seconds(4))
        }
    }

    @Test func errorRepliesHaveKinds() {
        #expect(RedisError(serverReply: "OOM command not allowed when used memory > 'maxmemory'.").kind == .outOfMemory)
        #expect(RedisError(serverReply: "NOAUTH Authentication required.").kind == .authentication)
        let wrongType = RedisError(serverReply: "WRONGTYPE Operation against a key holding the wrong kind of value")
        #expect(wrongType.kind == .server)
        #expect(wrongType.serverCode == "WRONGTYPE")
        #expect(RedisError(.timeout, "No reply to GET within 100 ms.").serverCode == nil)
    }
}
