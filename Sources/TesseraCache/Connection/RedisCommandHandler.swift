import NIOCore

/// Matches replies to commands in the order the commands were written, which is
/// the order Redis answers them: commands are pipelined, any number may be in flight.
///
/// Each command carries a timeout. When one expires, its command fails with
/// `.timeout` and the connection is closed: the reply may still come, and every later
/// reply would then be matched to the wrong command. When the connection closes or
/// the server sends garbage, every command in flight fails with the reason.
final class RedisCommandHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = Request
    typealias OutboundOut = RedisCommand

    struct Request {
        var command: RedisCommand
        var promise: EventLoopPromise<RESPValue>
        var timeout: TimeAmount
    }

    private struct Pending {
        var id: UInt64
        var name: String
        var promise: EventLoopPromise<RESPValue>
        var timer: Scheduled<Void>?
    }

    private var pending = CircularBuffer<Pending>(initialCapacity: 16)
    private var nextID: UInt64 = 0
    /// Set once the connection cannot be used any more; later commands fail with it.
    private var failure: RedisError?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = Self.unwrapOutboundIn(data)
        if let failure {
            request.promise.fail(failure)
            promise?.fail(failure)
            return
        }
        let id = self.nextID
        self.nextID &+= 1
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let timer = context.eventLoop.scheduleTask(in: request.timeout) {
            let (handler, context) = bound.value
            handler.timedOut(id: id, after: request.timeout, context: context)
        }
        self.pending.append(Pending(id: id, name: request.command.name, promise: request.promise, timer: timer))
        context.write(Self.wrapOutboundOut(request.command), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = Self.unwrapInboundIn(data)
        guard let first = self.pending.popFirst() else {
            self.fail(RedisError(.protocolViolation, "The server sent a reply to no command."), context: context)
            return
        }
        first.timer?.cancel()
        first.promise.succeed(reply)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.failAll(self.failure ?? RedisError(.connection, "The connection to Redis was closed."))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let reason = (error as? RedisError) ?? RedisError(.connection, "The connection to Redis failed: \(error)")
        self.fail(reason, context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.failAll(self.failure ?? RedisError(.connection, "The connection to Redis was closed."))
    }

    private func timedOut(id: UInt64, after timeout: TimeAmount, context: ChannelHandlerContext) {
        guard let index = self.pending.firstIndex(where: { $0.id == id }) else { return }
        let expired = self.pending.remove(at: index)
        // Closed before the caller hears of the timeout, so its next command does not pick this connection.
        self.fail(
            RedisError(.connection, "The connection was closed after a command timed out (replies could no longer be matched)."),
            context: context
        )
        let milliseconds = timeout.nanoseconds / 1_000_000
        expired.promise.fail(RedisError(.timeout, "No reply to \(expired.name) within \(milliseconds) ms."))
    }

    /// Fails everything in flight and from now on, and closes the connection.
    private func fail(_ reason: RedisError, context: ChannelHandlerContext) {
        if self.failure == nil { self.failure = reason }
        self.failAll(reason)
        context.close(promise: nil)
    }

    private func failAll(_ reason: RedisError) {
        if self.failure == nil { self.failure = reason }
        while let pending = self.pending.popFirst() {
            pending.timer?.cancel()
            pending.promise.fail(reason)
        }
    }
}
