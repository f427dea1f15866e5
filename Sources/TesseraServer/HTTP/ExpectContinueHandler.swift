import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers `Expect: 100-continue` with `100 Continue` once the request's credentials
/// are known good, so clients that send it (curl for bodies over 1 MB, many HTTP
/// libraries) do not stall a second before the body, and a client with a bad key is
/// answered 401 before it sends its body. Hummingbird does not answer it by itself.
///
/// While the check runs (a key the server has seen within seconds is answered from
/// memory), parts that arrive are held and passed on after the head, in order.
final class ExpectContinueHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    /// Whether the request (its head) carries credentials this server accepts.
    typealias Verifier = @Sendable (HTTPRequest) async -> Bool

    private let verify: Verifier
    /// Parts read while a head waits for its check.
    private var held: [HTTPRequestPart]?

    init(verify: @escaping Verifier) {
        self.verify = verify
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = self.unwrapInboundIn(data)
        if self.held != nil {
            self.held!.append(part)
            return
        }
        guard case .head(var head) = part,
            let expect = head.headerFields[.expect], expect.lowercased() == "100-continue"
        else {
            context.fireChannelRead(data)
            return
        }
        head.headerFields[.expect] = nil
        self.held = []
        let verify = self.verify
        let request = head
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let promise = context.eventLoop.makePromise(of: Bool.self)
        promise.completeWithTask { await verify(request) }
        promise.futureResult.whenComplete { result in
            let (handler, context) = loopBound.value
            // Good credentials: the client may send its body. Otherwise the request goes
            // on without it and is answered 401 (a final answer in place of 100).
            if case .success(true) = result {
                context.writeAndFlush(handler.wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
            }
            let held = handler.held ?? []
            handler.held = nil
            context.fireChannelRead(handler.wrapInboundOut(.head(head)))
            for part in held { context.fireChannelRead(handler.wrapInboundOut(part)) }
            context.fireChannelReadComplete()
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if self.held == nil { context.fireChannelReadComplete() }
    }
}
