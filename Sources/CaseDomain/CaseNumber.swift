public import SyncCore

/// Human case numbers, minted offline: `HSM-20261126-1432-K7Q`, then `…-K7Q-2`, `…-K7Q-3`
/// for further cases of the same replica in the same minute.
///
/// - `HSM`: the office code (unique per office, assigned by the district);
/// - `20261126-1432`: the local date and minute of minting (China Standard Time);
/// - `K7Q`: the replica's tag, three characters derived from its 128-bit random id, in
///   an alphabet without look-alikes (no 0/O, 1/I/L), so it reads well over the phone;
/// - `-2`: the sequence within the minute, omitted for the first.
///
/// Unique without coordination: offices differ by code; replicas of one office differ
/// by tag (29,791 tags; two replicas of one office share one with odds of about one in
/// 30,000, and then only collide if both mint in the same minute); one replica never
/// mints the same minute and sequence twice, because ``CaseNumberMinter`` never goes
/// back below the last minute it minted in. A replica restored from an old backup is
/// a new replica with a new tag (DESIGN §3); even one restored under its old id mints
/// in later minutes than any number it issued before the failure, so no number a
/// resident holds is ever issued again.
public struct CaseNumber: Hashable, Sendable, CustomStringConvertible {
    /// Letters and digits that cannot be misread: 2–9 and A–Z without I, L, O.
    public static let alphabet = ReplicaID.tagAlphabet

    public let office: String
    public let date: CivilDate
    /// Minutes since local midnight (0…1439).
    public let minute: Int
    public let tag: String
    /// 1 for the first number of this replica in this minute.
    public let sequence: Int

    public init(office: String, date: CivilDate, minute: Int, tag: String, sequence: Int) {
        self.office = office
        self.date = date
        self.minute = minute
        self.tag = tag
        self.sequence = sequence
    }

    /// The replica's tag: three characters of ``alphabet`` derived from its id.
    public static func tag(for replica: ReplicaID) -> String { replica.tag }

    /// The central server's tag for the numbers it mints (residents' online requests):
    /// `0` and two characters of ``alphabet``. No replica's tag starts with `0` (not in the
    /// alphabet), so the server never mints a number an office replica can.
    public static func serverTag(for writer: ReplicaID) -> String { "0" + String(writer.tag.prefix(2)) }

    /// Whether `text` is a replica's tag or the server's.
    static func isTag(_ text: String) -> Bool {
        guard text.count == 3 else { return false }
        let rest = text.first == "0" ? text.dropFirst() : Substring(text)
        return rest.allSatisfy { CaseNumber.alphabet.contains($0) }
    }

    public var description: String {
        let hour = minute / 60
        let minuteOfHour = minute % 60
        let stamp = date.description.replacingOccurrences(of: "-", with: "")
        let time = (hour < 10 ? "0" : "") + "\(hour)" + (minuteOfHour < 10 ? "0" : "") + "\(minuteOfHour)"
        return "\(office)-\(stamp)-\(time)-\(tag)" + (sequence > 1 ? "-\(sequence)" : "")
    }

    /// Parses a number printed by ``description``.
    public init?(parsing text: String) {
        let parts = text.uppercased().split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4 || parts.count == 5, !parts[0].isEmpty, parts[1].count == 8, parts[2].count == 4,
            parts[3].count == 3, CaseNumber.isTag(parts[3]),
            let year = Int(parts[1].prefix(4)), let month = Int(parts[1].dropFirst(4).prefix(2)),
            let day = Int(parts[1].suffix(2)), let date = CivilDate(year: year, month: month, day: day),
            let hour = Int(parts[2].prefix(2)), let minute = Int(parts[2].suffix(2)), hour < 24, minute < 60
        else { return nil }
        var sequence = 1
        if parts.count == 5 {
            guard let value = Int(parts[4]), value >= 2 else { return nil }
            sequence = value
        }
        self.init(office: parts[0], date: date, minute: hour * 60 + minute, tag: parts[3], sequence: sequence)
    }
}

/// Mints case numbers for one replica, never repeating and never going back in time,
/// even when the wall clock does.
public struct CaseNumberMinter: Hashable, Sendable {
    /// The last number minted (persisted by the replica store).
    public private(set) var last: CaseNumber?

    public init(last: CaseNumber? = nil) {
        self.last = last
    }

    /// The next number for `office` and `tag` at instant `epochMillis`.
    public mutating func next(office: String, tag: String, epochMillis: Int64, utcOffsetMinutes: Int = 480) -> CaseNumber {
        let date = CivilDate(epochMillis: epochMillis, utcOffsetMinutes: utcOffsetMinutes)
        let local = epochMillis + Int64(utcOffsetMinutes) * 60_000
        let minute = Int(((local % 86_400_000) + 86_400_000) % 86_400_000 / 60_000)
        var number = CaseNumber(office: office, date: date, minute: minute, tag: tag, sequence: 1)
        if let last, last.office == office, last.tag == tag, last.date > date || (last.date == date && last.minute >= minute) {
            // Same minute, or a clock that went back: continue after the last number.
            number = CaseNumber(office: office, date: last.date, minute: last.minute, tag: tag, sequence: last.sequence + 1)
        }
        last = number
        return number
    }

    /// Whether `number` was minted after `other` by the same minter (later minute, or the
    /// same minute with a higher sequence).
    public static func isAfter(_ number: CaseNumber, _ other: CaseNumber) -> Bool {
        if number.date != other.date { return number.date > other.date }
        if number.minute != other.minute { return number.minute > other.minute }
        return number.sequence > other.sequence
    }
}

extension String {
    func replacingOccurrences(of target: Character, with replacement: String) -> String {
        var result = ""
        for character in self { if character == target { result += replacement } else { result.append(character) } }
        return result
    }
}
