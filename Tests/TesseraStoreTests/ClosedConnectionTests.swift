import PostgresNIO
import TesseraCore
import TesseraStore
import TesseraTestSupport
import Testing

/// PostgresNIO never answers a statement written to a connection that has closed. Seen in
/// the failover drill: a `safe` write whose connection died between two statements of its
/// transaction waited forever, and with it its pool lease and the server's shutdown. The
/// pool's calls the server makes (`PostgresClient+Live.swift`) end with an error instead.
@Suite struct ClosedConnectionTests {
    @Test func aTransactionWhoseConnectionDiesBetweenStatementsFailsAtOnceAndThePoolGoesOn() async throws {
        let url = try await TestCluster.primaryURL()
        try await withTestClient(url: url) { client in
            let started = ContinuousClock.now
            let failure: (any Error)? = await {
                do {
                    try await client.withLiveTransaction(logger: quietLogger) { connection in
                        // The session ends itself: its connection closes inside the transaction.
                        _ = try? await connection.query("SELECT pg_terminate_backend(pg_backend_pid())", logger: quietLogger)
                        while !connection.isClosed { try await Task.sleep(for: .milliseconds(20)) }
                        // Written to a closed connection: PostgresNIO drops it unanswered.
                        try await connection.query("SELECT 1", logger: quietLogger)
                    }
                    return nil
                } catch {
                    return error
                }
            }()
            #expect(failure != nil, "a transaction on a connection that closed under it reported success")
            #expect(ContinuousClock.now - started < .seconds(10), "the transaction waited on its closed connection")
            // The next call gets a live connection.
            let rows = try await client.liveQuery("SELECT 41 + 1", logger: quietLogger)
            var answers = [Int]()
            for try await answer in rows.decode(Int.self) { answers.append(answer) }
            #expect(answers == [42])
        }
    }
}
