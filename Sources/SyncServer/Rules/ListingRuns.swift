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

    /// Each office's run still open (it grows while the next number is listed under it).
    private var open: [String: Run] = [:]
    /// Runs a later number has ended.
    private var closed: [Run] = []

    public init() {}

    /// Lists change `arrived` under `offices`. Numbers come in increasing order.
    public mutating func list(_ arrived: Int64, under offices: [String]) {
        for office in offices {
            if let run = open[office] {
                if run.last + 1 == arrived {
                    open[office]?.last = arrived
                    continue
                }
                closed.append(run)
            }
            open[office] = Run(office: office, first: arrived, last: arrived)
        }
    }

    /// The runs that later numbers have ended, taken out (so that a long listing is
    /// written as it goes).
    public mutating func takeClosed() -> [Run] {
        defer { closed = [] }
        return closed
    }

    /// Every run left, the open ones closed; nothing is left afterwards.
    public mutating func finish() -> [Run] {
        let runs = closed + open.values.sorted { ($0.first, $0.office) < ($1.first, $1.office) }
        closed = []
        open = [:]
        return runs
    }
}
