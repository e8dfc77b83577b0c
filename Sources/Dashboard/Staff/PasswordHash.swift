import Crypto
import Dispatch
import Foundation
import SyncServer
import _CryptoExtras

/// Staff passwords, hashed with scrypt (RFC 7914: memory-hard; swift-crypto's BoringSSL
/// implementation): `scrypt$<log2 N>$<r>$<p>$<salt>$<hash>`, salt and hash in base64. The
/// parameters travel with each hash, so that stronger ones later still verify old hashes.
public enum PasswordHash {
    /// N = 2^15, r = 8, p = 1: 32 MiB and about a tenth of a second per try.
    public static let logN = 15
    public static let blockSize = 8
    public static let parallelism = 1

    /// The shortest password accepted.
    public static let minimumLength = 10

    /// A new hash of `password` with a fresh random salt.
    public static func make(_ password: String, logN: Int = logN) throws -> String {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let hash = try derive(password, salt: salt, logN: logN, blockSize: blockSize, parallelism: parallelism)
        return "scrypt$\(logN)$\(blockSize)$\(parallelism)$\(Data(salt).base64EncodedString())$\(Data(hash).base64EncodedString())"
    }

    /// Whether `password` matches `stored`, compared in constant time; false for a stored
    /// text that is not one of these hashes.
    public static func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "scrypt", let logN = Int(parts[1]), (10...20).contains(logN), let blockSize = Int(parts[2]),
            (1...32).contains(blockSize), let parallelism = Int(parts[3]), (1...16).contains(parallelism),
            let salt = Data(base64Encoded: String(parts[4])), let expected = Data(base64Encoded: String(parts[5])), expected.count == 32,
            let computed = try? derive(password, salt: Array(salt), logN: logN, blockSize: blockSize, parallelism: parallelism)
        else { return false }
        var difference: UInt8 = 0
        for (left, right) in zip(computed, expected) { difference |= left ^ right }
        return difference == 0
    }

    /// The checks run one at a time, off the server's threads: each takes 32 MiB and a
    /// tenth of a second, so that sign-ins — however many arrive — never hold up pushes or
    /// pages, and use at most one core.
    private static let queue = DispatchQueue(label: "rain.dashboard.scrypt")

    /// ``verify(_:against:)`` on the password queue.
    public static func check(_ password: String, against stored: String) async -> Bool {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: verify(password, against: stored)) }
        }
    }

    /// A hash no password matches, to verify against for an unknown name: a wrong name
    /// then costs the same time as a wrong password.
    public static let decoy = "scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

    static func derive(_ password: String, salt: [UInt8], logN: Int, blockSize: Int, parallelism: Int) throws -> [UInt8] {
        let key = try KDF.Scrypt.deriveKey(
            from: Array(password.utf8), salt: salt, outputByteCount: 32, rounds: 1 << logN, blockSize: blockSize,
            parallelism: parallelism)
        return key.withUnsafeBytes { Array($0) }
    }
}
