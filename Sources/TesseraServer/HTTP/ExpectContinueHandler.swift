import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers `Expect: 100-continue` at once with `100 Continue`, so clients that send it
/// (curl for bodies over 1 MB, many HTTP libraries) do not stall a second before the
/// body. Hummingbird does not answer it by itself.
final class ExpectContinueHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = self.unwrapInboundIn(data)
        guard case .head(var head) = part,
              let expect = head.headerFields[.expect], expect.lowercased() == "100-continue"
        else {
            context.fireChannelRead(data)
            return
        }
        head.headerFields[.expect] = nil
        context.writeAndFlush(self.wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
        context.fireChannelRead(self.wrapInboundOut(.head(head)))
    }
}
