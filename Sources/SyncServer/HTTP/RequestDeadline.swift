import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Closes a connection whose request does not arrive in time: its head within
/// `head` of the connection opening (or of the previous response), its body within
/// `body` of its head. A client that opens connections and never finishes a request
/// (a slow or half-sent one) holds nothing for long; Hummingbird's idle timeout alone
/// resets on every byte.
final class RequestDeadline: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let head: TimeAmount
    private let body: TimeAmount
    private var timer: Scheduled<Void>?

    init(head: TimeAmount, body: TimeAmount) {
        self.head = head
        self.body = body
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(head, context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(head, context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: arm(body, context)
        case .end:
            // Answering takes what it takes (a long pull): no deadline until the response
            // is written.
            timer?.cancel()
            timer = nil
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // After a response, the next request's head must come in time.
        if case .end = unwrapOutboundIn(data) { arm(head, context) }
        context.write(data, promise: promise)
    }

    private func arm(_ amount: TimeAmount, _ context: ChannelHandlerContext) {
        timer?.cancel()
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: amount) {
            loopBound.value.close(promise: nil)
        }
    }
}
