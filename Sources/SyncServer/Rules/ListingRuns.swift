/// The listing of changes under offices for pulls (`Protocol/PROTOCOL.md` §9.5), kept as
/// runs: a run is an office and a range of consecutive arrival numbers, every one of them
/// listed under the office. A push of one office's records is one run, not one row per
/// change; a pull reads its caller's runs and steps through their numbers.
public struct ListingRuns: Sendable {
    /// Changes `first...last`, all listed under `office`.
    public struct Run: Hashable, Sendable {
        public var office: String
        public var first: Int64
        public var last: Int64

        public init(office: String, first: Int64, last: Int64) {
            self.office = office
            self.first = first
            self.last = last
        }
    }

    // A run can only grow while every number is listed under its office, so the open
    // runs are exactly those holding the previous number: a record names a few offices
    // (a case two), and a short array beats hashing office codes for every change.
    private var open: [Run] = []
    private var previous: Int64 = .min
    /// Runs a later number has ended.
    private var closed: [Run] = []

    public init() {}

    /// Lists change `arrived` under `offices` (a record scope's codes by position: a
    /// code named twice is listed once, an unwritten one not at all). Numbers come in
    /// increasing order.
    public mutating func list(_ arrived: Int64, under offices: [String?]) {
        let follows = previous != .min && arrived == previous + 1
        previous = arrived
        // Runs listed again grow and move to the front; the others end.
        var kept = 0
        for index in open.indices {
            if follows, offices.contains(open[index].office) {
                open[index].last = arrived
                open.swapAt(index, kept)
                kept += 1
            } else {
                closed.append(open[index])
            }
        }
        open.removeSubrange(kept...)
        for (position, office) in offices.enumerated() {
            guard let office, !offices[..<position].contains(office), !open[..<kept].contains(where: { $0.office == office }) else {
                continue
            }
            open.append(Run(office: office, first: arrived, last: arrived))
        }
    }

    /// The runs that later numbers have ended, taken out (so that a long listing is
    /// written as it goes).
    public mutating func takeClosed() -> [Run] {
        defer { closed.removeAll(keepingCapacity: true) }
        return closed
    }

    /// Every run left, the open ones closed; nothing is left afterwards.
    public mutating func finish() -> [Run] {
        let runs = closed + open
        closed = []
        open = []
        previous = .min
        return runs
    }
}
