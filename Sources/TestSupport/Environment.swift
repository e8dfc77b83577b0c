#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads settings of test runs from the environment.
public enum TestEnvironment {
    /// The value of the environment variable `name`, if set and not empty.
    public static func string(_ name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        let value = String(cString: raw)
        return value.isEmpty ? nil : value
    }

    /// An unsigned integer from the environment (decimal or `0x` hex), or `fallback`.
    public static func unsigned(_ name: String, default fallback: UInt64) -> UInt64 {
        guard let text = string(name) else { return fallback }
        if text.hasPrefix("0x") { return UInt64(text.dropFirst(2), radix: 16) ?? fallback }
        return UInt64(text) ?? fallback
    }
}
