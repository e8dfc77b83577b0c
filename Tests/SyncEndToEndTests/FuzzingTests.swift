import Foundation
import Testing

/// libFuzzer against the change-batch decoder (`fuzz-batch`) and the server's request
/// handling over loopback HTTP (`fuzz-server`): each runs for a bounded time on its
/// checked-in seed corpus (`scripts/fuzz.sh`, built with `-sanitize=fuzzer` into
/// `.build-fuzz`, which `.ci/run` prepares first). A crash, a 5xx, an unanswered request
/// or a batch whose canonical encoding does not round-trip fails the test and leaves
/// the input in `Fuzz/crashes/`.
@Suite(.serialized) struct FuzzingTests {
    static var packageRoot: String { APIFuzzTests.packageRoot }

    @Test func theSeedCorporaReplayCleanlyOnThePlainBuild() throws {
        // The same targets built without the sanitizer replay every input once.
        for target in ["batch", "server"] {
            let folder = Self.packageRoot + "/Fuzz/corpus/" + target
            let inputs = try FileManager.default.contentsOfDirectory(atPath: folder).map { folder + "/" + $0 }
            #expect(inputs.count >= 20, "a thin seed corpus for \(target)")
            let run = try execute(Built.path("fuzz-" + target), inputs, in: Self.packageRoot)
            #expect(run.status == 0 && run.stderr.contains("replayed \(inputs.count) inputs"), "\(run.stderr.suffix(2_000))")
        }
    }

    @Test func eachFuzzerRunsABoundedTimeAndFindsNothing() throws {
        let seconds = ProcessInfo.processInfo.environment["RAIN_FUZZ_SECONDS"] ?? "20"
        let run = try execute("/bin/bash", [Self.packageRoot + "/scripts/fuzz.sh", seconds], in: Self.packageRoot)
        #expect(run.status == 0, "the fuzzers found a problem:\n\(run.stdout.suffix(4_000))\n\(run.stderr.suffix(2_000))")
        for target in ["fuzz-batch", "fuzz-server"] {
            #expect(run.stdout.contains("\(target): \(seconds)s"), "\(target) did not run:\n\(run.stdout.suffix(2_000))")
        }
        #expect(run.stdout.components(separatedBy: "DONE").count == 3, "\(run.stdout.suffix(2_000))")
    }
}
