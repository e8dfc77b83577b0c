public import CFuzzer

#if canImport(Glibc)
    import Glibc
#endif

/// Runs libFuzzer (or, built without `-sanitize=fuzzer`, a replay of the files named on
/// the command line) with `check` as the target, then exits with its status.
public func runFuzzer(_ check: @escaping @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Never {
    var argc = Int32(CommandLine.arguments.count)
    var pointers: [UnsafeMutablePointer<CChar>?] = CommandLine.arguments.map { strdup($0) } + [nil]
    let status = pointers.withUnsafeMutableBufferPointer { buffer -> Int32 in
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = buffer.baseAddress
        return LLVMFuzzerRunDriver(&argc, &argv, check)
    }
    exit(status)
}

/// Reports what went wrong and aborts: libFuzzer saves the input as a finding.
public func fail(_ message: String) -> Never {
    let line = Array((message + "\n").utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    abort()
}
