// libFuzzer target: the change-batch decoder and validator (`Protocol/PROTOCOL.md` §7).
//
// Every input is decoded as a push body. A refused one must be refused with an error
// that names where and why; an accepted one must survive the round trip — its canonical
// encoding decodes to the same changes and encodes to the same bytes — and merge into a
// fresh replica state without an error, each dot once, and again without a change. Any
// other outcome aborts, which libFuzzer records.
//
//   swift build --product fuzz-batch -Xswiftc -sanitize=fuzzer --scratch-path .build-fuzz
//   .build-fuzz/debug/fuzz-batch Fuzz/corpus/batch -max_total_time=60
//   (scripts/fuzz.sh does both.)
import FuzzSupport
import SyncCore
import SyncProtocol

#if canImport(Glibc)
    import Glibc
#endif

func check(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    let changes: [Change]
    do {
        changes = try ChangeBatchV1.decode(bytes)
    } catch {
        // Where and why (PROTOCOL.md §7.2), read from the typed error (a key echoed in a
        // path may itself contain ": ", so the message's text is not split): a non-empty
        // place ("$", "protocol", "changes[3].dot.counter") and reason; a JSON syntax
        // error's byte offset inside the input.
        guard !error.code.isEmpty, !error.message.isEmpty else { fail("refused without saying why: \(error)") }
        switch error {
        case .invalid(let path, let reason):
            if path.isEmpty || reason.isEmpty { fail("refused without saying where and why: \(error.message)") }
        case .malformedJSON(let syntax):
            if syntax.reason.isEmpty || syntax.offset < 0 || syntax.offset > bytes.count {
                fail("refused at byte \(syntax.offset) of a \(bytes.count)-byte input: \(error.message)")
            }
        case .tooLarge, .unsupportedVersion:
            break
        }
        return 0
    }
    let canonical = ChangeBatchV1.encode(changes)
    let again: [Change]
    do {
        again = try ChangeBatchV1.decode(canonical)
    } catch {
        fail("a canonical encoding does not decode: \(error.message)")
    }
    guard again == changes, ChangeBatchV1.encode(again) == canonical else {
        fail("the canonical encoding does not round-trip")
    }
    // An accepted batch merges: whatever the merge would refuse of a batch alone, the
    // validator must have refused first (a push would fail after validation otherwise).
    // Each distinct dot applies once; a repeat is a duplicate.
    var state = ReplicaState()
    let summary: ApplySummary
    do {
        summary = try state.apply(batch: changes)
    } catch {
        fail("an accepted batch does not merge: \(error)")
    }
    let distinct = Set(changes.map(\.dot)).count
    guard summary == ApplySummary(applied: distinct, duplicates: changes.count - distinct) else {
        fail("an accepted batch of \(changes.count) changes (\(distinct) dots) merged as \(summary)")
    }
    // Merged again, nothing changes.
    let merged = state
    guard (try? state.apply(batch: changes)) == ApplySummary(applied: 0, duplicates: changes.count), state == merged else {
        fail("an accepted batch is not idempotent")
    }
    return 0
}

runFuzzer { data, size in check(data, size) }
