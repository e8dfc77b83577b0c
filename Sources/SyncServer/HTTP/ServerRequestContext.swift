public import Hummingbird
public import NIOCore

/// The context of every request: Hummingbird's, plus the peer's address (the public
/// routes' rate limits are per address).
public struct ServerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connection's peer, when known.
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
