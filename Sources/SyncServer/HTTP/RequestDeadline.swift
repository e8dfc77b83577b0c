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
    // Counted, not flagged: a response may end before its request does (an early
    // refusal), and requests may be pipelined behind one being answered.
    private var heads = 0
    private var ends = 0
    private var answered = 0

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
        case .head:
            heads += 1
            // Each request's body has its own deadline from its head.
            arm(body, context)
        case .end:
            ends += 1
            settle(context)
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            answered += 1
            settle(context)
        }
        context.write(data, promise: promise)
    }

    /// After a request or a response ends: a request still arriving keeps its body
    /// deadline; one being answered has none (answering takes what it takes: a long pull);
    /// when everything received is answered, the next head must come in time.
    private func settle(_ context: ChannelHandlerContext) {
        if heads > ends { return }
        if answered < heads {
            timer?.cancel()
            timer = nil
        } else {
            arm(head, context)
        }
    }

    private func arm(_ amount: TimeAmount, _ context: ChannelHandlerContext) {
        timer?.cancel()
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: amount) {
            loopBound.value.close(promise: nil)
        }
    }
}
