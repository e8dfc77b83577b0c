// libFuzzer target: the change-batch decoder and validator (`Protocol/PROTOCOL.md` §7).
//
// Every input is decoded as a push body. A refused one must be refused with an error
// that names where; an accepted one must survive the round trip — its canonical
// encoding decodes to the same changes and encodes to the same bytes — and merge into
// a replica state without trapping. Any other outcome aborts, which libFuzzer records.
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
        if error.message.isEmpty || error.code.isEmpty {
            fail("refused without saying why: \(error)")
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
    var state = ReplicaState()
    _ = try? state.apply(batch: changes)
    return 0
}

runFuzzer { data, size in check(data, size) }
