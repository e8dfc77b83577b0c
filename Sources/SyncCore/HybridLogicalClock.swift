/// A hybrid logical clock timestamp: wall-clock milliseconds plus a logical counter.
///
/// Timestamps order by `wall`, then `logical`. They break ties between *concurrent*
/// writes only; causality is carried by version vectors, never inferred from time
/// (`Protocol/PROTOCOL.md` §4).
public struct HLC: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z (≤ 2^53 on the wire).
    public let wall: UInt64
    /// Distinguishes events within the same millisecond (≤ 2^32 − 1).
    public let logical: UInt32

    public init(wall: UInt64, logical: UInt32 = 0) {
        self.wall = wall
        self.logical = logical
    }

    /// The smallest timestamp.
    public static let zero = HLC(wall: 0, logical: 0)

    public var description: String { "\(wall).\(logical)" }

    public static func < (lhs: HLC, rhs: HLC) -> Bool {
        lhs.wall != rhs.wall ? lhs.wall < rhs.wall : lhs.logical < rhs.logical
    }
}

/// What a clock did with a peer's timestamp.
public enum ClockObservation: Sendable, Equatable {
    /// The peer's timestamp was within the allowed drift and was absorbed.
    case absorbed
    /// The peer's timestamp was more than `maxForwardDrift` ahead of the local physical
    /// clock; it was *not* absorbed. `aheadBy` is how far ahead it was, in milliseconds.
    case farFuture(aheadBy: UInt64)
}

/// A hybrid logical clock (Kulkarni et al., 2014) with a bound on forward drift.
///
/// - Local events (`tick`) are strictly increasing even when the wall clock jumps
///   backwards: the clock never goes below the last timestamp it issued.
/// - A peer timestamp (`observe`) within `maxForwardDrift` of the local wall clock is
///   absorbed, so later local events order after it.
/// - A peer timestamp further in the future (an offline laptop whose clock is days
///   ahead) is **not** absorbed: one skewed office must not drag every other office's
///   clock into the future. The peer's change is still applied with its own timestamp;
///   it can win last-writer-wins only against writes that are truly concurrent with
///   it, because anything written after seeing it carries a context that supersedes
///   it (`Protocol/PROTOCOL.md` §4.3).
///
/// Physical time is passed in, so the clock is deterministic under test.
public struct HybridLogicalClock: Sendable, Equatable {
    /// The largest timestamp issued or absorbed so far.
    public private(set) var last: HLC
    /// How far (milliseconds) a peer may be ahead of local physical time and still be
    /// absorbed. Default: 10 minutes.
    public let maxForwardDrift: UInt64

    /// The default bound on absorbed forward drift: 10 minutes.
    public static let defaultMaxForwardDrift: UInt64 = 10 * 60 * 1000

    /// Creates a clock that will never issue a timestamp ≤ `last`.
    public init(last: HLC = .zero, maxForwardDrift: UInt64 = HybridLogicalClock.defaultMaxForwardDrift) {
        self.last = last
        self.maxForwardDrift = maxForwardDrift
    }

    /// Issues the timestamp of a local event at physical time `physical` (ms).
    ///
    /// The result is strictly greater than every timestamp issued or absorbed before.
    public mutating func tick(physical: UInt64) -> HLC {
        let next: HLC
        if physical > last.wall {
            next = HLC(wall: physical, logical: 0)
        } else if last.logical == UInt32.max {
            // 4 billion events in one millisecond: borrow the next millisecond.
            next = HLC(wall: last.wall + 1, logical: 0)
        } else {
            next = HLC(wall: last.wall, logical: last.logical + 1)
        }
        last = next
        return next
    }

    /// Takes note of a peer's timestamp seen at local physical time `physical` (ms).
    ///
    /// - Returns: `.absorbed`, or `.farFuture` when the peer is more than
    ///   `maxForwardDrift` ahead (the clock is then left unchanged).
    public mutating func observe(_ remote: HLC, physical: UInt64) -> ClockObservation {
        let limit = physical.addingReportingOverflow(maxForwardDrift)
        if !limit.overflow, remote.wall > limit.partialValue {
            return .farFuture(aheadBy: remote.wall - physical)
        }
        if remote > last { last = remote }
        return .absorbed
    }
}
