import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore

/// A server child channel whose connection task runs on the connection's event loop:
/// requests are handled on the thread that read them, and the response is written
/// from it. Work the handler awaits elsewhere (a database or Redis connection on
/// another loop) resumes there and comes back; a Redis connection on the same loop,
/// which the cache's pool prefers, is answered without leaving the thread.
struct EventLoopPinnedChildChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        self.base.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await withTaskExecutorPreference(EventLoopTaskExecutor.on(value.channel.eventLoop)) {
            await self.base.handle(value: value, logger: logger)
        }
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1, over TLS when `tls` is given (HummingbirdTLS's channel, NIOSSL's handler
    /// first in the pipeline), whose request handlers run on their connection's event
    /// loop (`onEventLoop`), or on Swift's global concurrent executor as Hummingbird's
    /// `.http1` does.
    static func http1(configuration: HTTP1Channel.Configuration, onEventLoop: Bool, tls: TLSConfiguration?) -> HTTPServerBuilder {
        .init { responder in
            let http = HTTP1Channel(responder: responder, configuration: configuration)
            switch (tls, onEventLoop) {
            case (nil, false): return http
            case (nil, true): return EventLoopPinnedChildChannel(base: http)
            case (let tls?, false): return try TLSChannel(http, tlsConfiguration: tls)
            case (let tls?, true): return EventLoopPinnedChildChannel(base: try TLSChannel(http, tlsConfiguration: tls))
            }
        }
    }
}
