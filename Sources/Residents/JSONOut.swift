import CaseDomain
import SyncProtocol

/// A small JSON writer for the public answers (strings escaped by SyncProtocol's canonical
/// writer): objects with their keys in the order written.
struct JSONOut {
    private var writer = CanonicalJSONWriter()
    private var first: [Bool] = []

    var bytes: [UInt8] { writer.bytes }

    mutating func beginArray() {
        separate()
        writer.raw("[")
        first.append(true)
    }

    mutating func endArray() {
        writer.raw("]")
        first.removeLast()
    }

    mutating func beginObject() {
        separate()
        writer.raw("{")
        first.append(true)
    }

    mutating func endObject() {
        writer.raw("}")
        first.removeLast()
    }

    mutating func key(_ name: String) {
        separate()
        writer.string(name)
        writer.raw(":")
        // The value that follows needs no comma.
        first.append(true)
    }

    mutating func field(_ name: String, _ text: String?) {
        key(name)
        if let text { writer.string(text) } else { writer.raw("null") }
        first.removeLast()
    }

    mutating func field(_ name: String, _ number: Int?) {
        key(name)
        if let number { writer.integer(number) } else { writer.raw("null") }
        first.removeLast()
    }

    mutating func field(_ name: String, _ flag: Bool) {
        key(name)
        if flag { writer.raw("true") } else { writer.raw("false") }
        first.removeLast()
    }

    /// A string element of an array.
    mutating func writeString(_ text: String) {
        separate()
        writer.string(text)
    }

    /// Starts the value of `name` (an object or array follows).
    mutating func open(_ name: String) {
        key(name)
    }

    /// Ends what ``open(_:)`` started, after its value.
    mutating func close() {
        first.removeLast()
    }

    private mutating func separate() {
        guard !first.isEmpty else { return }
        if first[first.count - 1] {
            first[first.count - 1] = false
        } else {
            writer.raw(",")
        }
    }
}

/// Times as Open311 gives them: ISO 8601 with China Standard Time's offset.
enum ISOTime {
    static func string(_ millis: Int64) -> String {
        let local = millis + 8 * 3_600_000
        let date = CivilDate(epochMillis: millis)
        let seconds = Int(((local % 86_400_000) + 86_400_000) % 86_400_000 / 1000)
        return "\(date)T\(two(seconds / 3600)):\(two(seconds / 60 % 60)):\(two(seconds % 60))+08:00"
    }

    /// The end of a due day.
    static func endOf(_ date: CivilDate) -> String { "\(date)T23:59:59+08:00" }

    private static func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
