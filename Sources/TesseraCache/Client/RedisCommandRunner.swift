import NIOCore

/// Anything that sends Redis commands: one connection, or the pool.
/// The typed commands Tessera uses are in `RedisCommandRunner+Commands.swift`.
package protocol RedisCommandRunner: Sendable {
    /// Sends a command and returns its reply; an error reply throws a `RedisError`.
    func send(_ command: RedisCommand) async throws(RedisError) -> RESPValue
}
