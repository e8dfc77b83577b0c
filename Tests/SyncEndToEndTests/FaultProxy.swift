import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A fault-injecting TCP proxy on loopback, between `rain` and `rain-server`: each new
/// connection takes the next fault of a queue (then ``FaultProxy/Fault/pass`` — or the
/// standing fault, when one is set) and suffers it.
///
/// With several upstreams it is a round-robin load balancer: each connection goes to the
/// next upstream that accepts it (one that refuses, a dead server, is passed over).
///
/// Plain blocking sockets and one thread per direction: small and easy to reason about,
/// which is what a test's network needs to be.
final class FaultProxy: @unchecked Sendable {
    enum Fault: Sendable, Equatable, CustomStringConvertible {
        /// Forward everything.
        case pass
        /// Close the connection as soon as it is accepted.
        case refuse
        /// Forward `bytes` of the request, then cut the connection (mid-request).
        case cutRequest(after: Int)
        /// Forward the request and `bytes` of the answer, then cut (mid-response: the
        /// server did the work, the client never hears of it; a truncated body).
        case cutResponse(after: Int)
        /// Hold every chunk for `milliseconds` before forwarding it.
        case delay(milliseconds: Int)
        /// Read the request and never answer, nor close.
        case stall

        var description: String {
            switch self {
            case .pass: "pass"
            case .refuse: "refuse"
            case .cutRequest(let bytes): "cut the request after \(bytes) bytes"
            case .cutResponse(let bytes): "cut the response after \(bytes) bytes"
            case .delay(let milliseconds): "delay \(milliseconds) ms"
            case .stall: "stall"
            }
        }
    }

    let upstreamPorts: [UInt16]
    var upstreamPort: UInt16 { upstreamPorts[0] }
    private var nextUpstream = 0
    /// How many connections each upstream took, by port.
    var served: [UInt16: Int] { lock.withLock { servedCounts } }
    private var servedCounts: [UInt16: Int] = [:]
    private(set) var port: UInt16 = 0
    private let listener: Int32
    private let lock = NSLock()
    private var queue: [Fault] = []
    private var standing: Fault?
    private var applied: [Fault] = []
    private var open: [Int32] = []
    private var closed = false

    /// Listens on a free loopback port, forwarding to `127.0.0.1:upstreamPort`.
    convenience init(upstreamPort: UInt16) throws {
        try self.init(upstreamPorts: [upstreamPort])
    }

    /// Listens on a free loopback port, forwarding each connection to the next of
    /// `upstreamPorts` in turn.
    init(upstreamPorts: [UInt16]) throws {
        precondition(!upstreamPorts.isEmpty)
        self.upstreamPorts = upstreamPorts
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw ProxyError("socket: \(errno)") }
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 64) == 0 else { throw ProxyError("bind/listen: \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    struct ProxyError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// The faults the next connections suffer, in order.
    func enqueue(_ faults: [Fault]) {
        lock.withLock { queue.append(contentsOf: faults) }
    }

    /// A fault every connection suffers until cleared (nil: the network is back).
    func setStanding(_ fault: Fault?) {
        lock.withLock { standing = fault }
        if fault == nil { dropStalled() }
    }

    /// The faults connections have suffered so far.
    var history: [Fault] { lock.withLock { applied } }

    /// Faults still queued.
    var pending: Int { lock.withLock { queue.count } }

    /// Stops listening; idempotent (it runs again from deinit): a second close of the
    /// listener's descriptor would close whatever file another thread opened under that
    /// number since.
    func close() {
        let first = lock.withLock { () -> Bool in
            defer { closed = true }
            return !closed
        }
        guard first else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
        dropStalled()
    }

    deinit { close() }

    private func dropStalled() {
        let sockets = lock.withLock { () -> [Int32] in
            defer { open.removeAll() }
            return open
        }
        for socket in sockets { shutdown(socket, Int32(SHUT_RDWR)) }
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if lock.withLock({ closed }) { return }
                continue
            }
            let fault = lock.withLock { () -> Fault in
                let next = queue.isEmpty ? (standing ?? .pass) : queue.removeFirst()
                applied.append(next)
                return next
            }
            Thread.detachNewThread { [self] in serve(client, fault) }
        }
    }

    private func serve(_ client: Int32, _ fault: Fault) {
        if fault == .refuse {
            Glibc.close(client)
            return
        }
        guard let upstream = connectUpstream() else {
            Glibc.close(client)
            return
        }
        lock.withLock { open.append(contentsOf: [client, upstream]) }
        if fault == .stall {
            // Swallow the request; answer nothing until the proxy is told the network is back.
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while read(client, &buffer, buffer.count) > 0 {}
            finish(client, upstream)
            return
        }
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread { [self] in
            pump(from: client, to: upstream, limit: { if case .cutRequest(let bytes) = fault { bytes } else { nil } }(), fault: fault)
            done.signal()
        }
        pump(from: upstream, to: client, limit: { if case .cutResponse(let bytes) = fault { bytes } else { nil } }(), fault: fault)
        done.wait()
        finish(client, upstream)
    }

    /// A connection to the next upstream that accepts one, or nil when none does.
    private func connectUpstream() -> Int32? {
        let start = lock.withLock { () -> Int in
            defer { nextUpstream += 1 }
            return nextUpstream
        }
        for offset in 0..<upstreamPorts.count {
            let port = upstreamPorts[(start + offset) % upstreamPorts.count]
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: port)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if connected == 0 {
                lock.withLock { servedCounts[port, default: 0] += 1 }
                return upstream
            }
            Glibc.close(upstream)
        }
        return nil
    }

    private func finish(_ client: Int32, _ upstream: Int32) {
        // Forgotten before closing, so that a reused descriptor is never shut down later.
        lock.withLock { open.removeAll { $0 == client || $0 == upstream } }
        Glibc.close(client)
        Glibc.close(upstream)
    }

    /// Copies `source` to `target` until either side closes or `limit` bytes passed; then
    /// shuts both down so that the other direction ends too.
    private func pump(from source: Int32, to target: Int32, limit: Int?, fault: Fault) {
        var buffer = [UInt8](repeating: 0, count: 16_384)
        var passed = 0
        while true {
            let count = read(source, &buffer, buffer.count)
            if count <= 0 { break }
            if case .delay(let milliseconds) = fault { usleep(useconds_t(milliseconds * 1_000)) }
            var chunk = count
            if let limit { chunk = min(chunk, limit - passed) }
            if chunk > 0 {
                var offset = 0
                while offset < chunk {
                    let written = buffer.withUnsafeBytes { write(target, $0.baseAddress! + offset, chunk - offset) }
                    if written <= 0 { break }
                    offset += written
                }
                passed += chunk
            }
            if let limit, passed >= limit { break }
        }
        shutdown(source, Int32(SHUT_RDWR))
        shutdown(target, Int32(SHUT_RDWR))
    }
}
