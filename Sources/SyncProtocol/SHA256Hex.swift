import Crypto

/// SHA-256 as lower-case hex, the content hash of canonical encodings.
public enum SHA256Hex {
    /// The SHA-256 of `bytes`, as 64 lower-case hex digits.
    public static func digest(_ bytes: [UInt8]) -> String {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in SHA256.hash(data: bytes) {
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
