import SyncProtocol

/// Enrolment tokens and replica credentials: `<id>.<secret>`, where the secret is 256
/// random bits in hex. The server keeps only SHA-256 of the secret, finds the row by
/// the id, and compares digests in constant time (`Protocol/PROTOCOL.md` §9.2).
package enum Secrets {
    /// 32 random bytes as 64 lower-case hex digits.
    package static func randomSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return hex((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    /// A short random id (12 hex digits) for a token.
    package static func randomTokenID() -> String {
        var generator = SystemRandomNumberGenerator()
        return hex((0..<6).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    package static func digest(_ secret: String) -> String {
        SHA256Hex.digest(Array(secret.utf8))
    }

    /// Splits `<id>.<secret>` at its last dot; nil when malformed.
    package static func split(_ text: String) -> (id: String, secret: String)? {
        guard let dot = text.lastIndex(of: "."), dot != text.startIndex else { return nil }
        let id = String(text[..<dot])
        let secret = String(text[text.index(after: dot)...])
        guard secret.utf8.count == 64, secret.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            return nil
        }
        return (id, secret)
    }

    /// Whether `secret` hashes to `storedDigest`, in time independent of where they differ.
    package static func matches(_ secret: String, storedDigest: String) -> Bool {
        let computed = Array(digest(secret).utf8)
        let stored = Array(storedDigest.utf8)
        guard computed.count == stored.count else { return false }
        var difference: UInt8 = 0
        for index in computed.indices { difference |= computed[index] ^ stored[index] }
        return difference == 0
    }

    package static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
