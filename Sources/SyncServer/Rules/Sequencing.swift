/// The gap rule (`Protocol/PROTOCOL.md` §9.4), pure: a replica's changes reach the server
/// in counter order without a gap, refused counters counting as held, so that "holds `c`"
/// always means "every counter up to `c`". Both storage backends decide with it.
public enum Sequencing {
    /// The highest counter `c` such that every counter up to `c` is held (the highest held
    /// is `highestHeld`) or was refused.
    public static func holds(highestHeld: UInt64, refused: Set<UInt64>) -> UInt64 {
        var held = highestHeld
        while refused.contains(held + 1) { held += 1 }
        return held
    }

    /// What to do with a batch's new counters (those not already held), given what the
    /// server holds.
    public enum Verdict: Equatable, Sendable {
        /// Accept them; `retried` are refused counters sent again (their refusal goes).
        case accept(retried: [UInt64])
        /// Refuse the batch: `missing` is the first counter the server lacks.
        case gap(missing: UInt64)
    }

    /// Checks that `fresh` continues the writer's sequence after `holds` without a gap.
    public static func check(fresh: [UInt64], holds: UInt64, refused: Set<UInt64>) -> Verdict {
        var expected = holds + 1
        var retried: [UInt64] = []
        // A batch comes in counter order: sorted only when it does not.
        let inOrder = zip(fresh, fresh.dropFirst()).allSatisfy { $0 < $1 }
        for counter in inOrder ? fresh : Set(fresh).sorted() {
            if counter <= holds {
                if refused.contains(counter) { retried.append(counter) }
                continue
            }
            while refused.contains(expected) { expected += 1 }
            guard counter == expected else { return .gap(missing: expected) }
            expected += 1
        }
        return .accept(retried: retried)
    }
}

/// A pull's position (`Protocol/PROTOCOL.md` §9.5), pure. Clients treat it as opaque; it
/// is `v1.<arrived>.<moves>`: every change the server received as number `arrived` or
/// earlier has been offered, and every scope move up to number `moves` applied (`v1.<n>`
/// from servers before scopes means no move seen).
public struct PullCursor: Hashable, Sendable {
    public var arrived: Int64
    public var moves: Int64

    public init(arrived: Int64, moves: Int64) {
        self.arrived = arrived
        self.moves = moves
    }

    /// Reads a position this server issued; the empty position is the start.
    public init(parsing text: String) throws(ServerError) {
        if text.isEmpty {
            self.init(arrived: 0, moves: 0)
            return
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, parts[0] == "v1", let arrived = Int64(parts[1]), arrived >= 0,
            let moves = parts.count == 3 ? Int64(parts[2]) : 0, moves >= 0
        else { throw .badRequest("invalid_cursor", "cannot pull: the position is not one this server issued (after)") }
        self.init(arrived: arrived, moves: moves)
    }

    /// The text a client is given.
    public var text: String { "v1.\(arrived).\(moves)" }
}
