import CaseDomain
import SyncCore
import Testing

@Suite struct CaseNumberTests {
    let minute: Int64 = 60_000
    // 2026-11-26 14:32 in Beijing.
    let at: Int64 = 1_795_651_200_000 - 8 * 3_600_000 + (14 * 60 + 32) * 60_000

    @Test func numbersReadWellAndParseBack() {
        var minter = CaseNumberMinter()
        let first = minter.next(office: "HSM", tag: "K7Q", epochMillis: at)
        #expect(first.description == "HSM-20261126-1432-K7Q")
        let second = minter.next(office: "HSM", tag: "K7Q", epochMillis: at + 20_000)
        #expect(second.description == "HSM-20261126-1432-K7Q-2")
        let later = minter.next(office: "HSM", tag: "K7Q", epochMillis: at + minute)
        #expect(later.description == "HSM-20261126-1433-K7Q")
        for number in [first, second, later] { #expect(CaseNumber(parsing: number.description) == number) }
        #expect(CaseNumber(parsing: "hsm-20261126-1432-k7q") == first)
        #expect(CaseNumber(parsing: "HSM-20261126-1432-K7Q-1") == nil)
        #expect(CaseNumber(parsing: "HSM-20261126-2460-K7Q") == nil)
        #expect(CaseNumber(parsing: "HSM-20261126-1432-K0Q") == nil)
    }

    @Test func aClockThatGoesBackNeverRepeatsANumber() {
        var minter = CaseNumberMinter()
        var seen = Set<String>()
        var time = at
        for step in 0..<500 {
            // The wall clock wanders, sometimes an hour back.
            time += step % 7 == 0 ? -3_600_000 : Int64(step % 3) * 25_000
            let number = minter.next(office: "HSM", tag: "K7Q", epochMillis: time).description
            #expect(seen.insert(number).inserted, "\(number) repeated")
        }
    }

    @Test func aRestoredMinterStillMintsFreshNumbersLater() {
        var minter = CaseNumberMinter()
        let backup = minter
        var issued = Set<String>()
        for offset in 0..<30 { issued.insert(minter.next(office: "HSM", tag: "K7Q", epochMillis: at + Int64(offset) * 20_000).description) }
        // The replica is restored from the backup taken before those numbers, later in the day.
        var restored = backup
        for offset in 0..<30 {
            let number = restored.next(office: "HSM", tag: "K7Q", epochMillis: at + 3_600_000 + Int64(offset) * 20_000).description
            #expect(!issued.contains(number))
        }
    }

    @Test func tagsComeFromTheReplicaIdInAReadableAlphabet() {
        var random = SystemRandomNumberGenerator()
        var tags = Set<String>()
        for _ in 0..<2000 {
            let id = ReplicaID((0..<32).map { _ in String(UInt8.random(in: 0...15, using: &random), radix: 16) }.joined())
            let tag = CaseNumber.tag(for: id)
            #expect(tag.count == 3 && tag.allSatisfy { CaseNumber.alphabet.contains($0) })
            #expect(CaseNumber.tag(for: id) == tag)
            tags.insert(tag)
        }
        // 2,000 random replicas over 29,791 tags: most are distinct.
        #expect(tags.count > 1800)
    }
}
