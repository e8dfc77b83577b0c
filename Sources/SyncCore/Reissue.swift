/// Re-issuing a restored replica's work under a fresh identity (`Protocol/PROTOCOL.md`
/// §9.8).
///
/// A replica file replaced by an older copy of itself mints dots again from where the
/// copy stood, so the changes written since may repeat dots the server already holds
/// with other content. Those changes are written again, in their original order, as
/// changes of a new replica id: same record, fields, clock and author, counters
/// `1, 2, …`, and each context rewritten so that it claims exactly what the original
/// claimed — an entry of the old id that named a re-issued change now names its new
/// dot, one that named a kept change still does.
public enum Reissue {
    /// The changes of `reissued` (own changes of `predecessor`, in counter order)
    /// written again as changes of `successor`, counters from `firstCounter` on.
    ///
    /// - Parameters:
    ///   - kept: for each record a re-issued change touches, the counters of
    ///     `predecessor`'s changes to it that stay (are not re-issued), in any order.
    /// - Returns: the new changes, in the same order.
    public static func rewrite(
        _ reissued: [Change],
        kept: [RecordKey: [UInt64]],
        from predecessor: ReplicaID,
        as successor: ReplicaID,
        firstCounter: UInt64 = 1
    ) -> [Change] {
        precondition(predecessor != successor, "a re-issue needs a new replica id")
        let keptSorted = kept.mapValues { $0.sorted() }
        // Per record, the re-issued changes so far: (old counter, new counter), ascending.
        var moved: [RecordKey: [(old: UInt64, new: UInt64)]] = [:]
        var next = firstCounter
        var result: [Change] = []
        result.reserveCapacity(reissued.count)
        for change in reissued {
            precondition(change.dot.replica == predecessor, "only the predecessor's own changes are re-issued")
            var context = VersionVector()
            for entry in change.context.entries {
                guard entry.replica == predecessor else {
                    context.set(entry.replica, to: entry.counter)
                    continue
                }
                // `predecessor: m` covers its changes to this record up to m: now the kept
                // ones up to m under the old id, the re-issued ones under the new id.
                if let keptCounter = highest(in: keptSorted[change.record] ?? [], atMost: entry.counter) {
                    context.set(predecessor, to: keptCounter)
                }
                if let last = (moved[change.record] ?? []).last(where: { $0.old <= entry.counter }) {
                    context.set(successor, to: last.new)
                }
            }
            let dot = Dot(successor, next)
            result.append(
                Change(dot: dot, record: change.record, fields: change.fields, context: context, hlc: change.hlc, author: change.author))
            moved[change.record, default: []].append((change.dot.counter, next))
            next += 1
        }
        return result
    }

    private static func highest(in sorted: [UInt64], atMost limit: UInt64) -> UInt64? {
        var low = 0
        var high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] <= limit { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? nil : sorted[low - 1]
    }
}
