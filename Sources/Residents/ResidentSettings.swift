import Foundation
import Synchronization

/// The public routes' limits (README, "Residents"): none of them needs a credential, so
/// each is bounded.
public struct ResidentSettings: Sendable {
    /// Requests per minute from one address to any public route (a burst of as many).
    public var readsPerMinute: Int = 120
    /// Submissions, ratings and messages per minute from one address.
    public var writesPerMinute: Int = 10
    /// Online submissions per phone number per day.
    public var submissionsPerPhonePerDay: Int = 5
    /// Wrong phone tails in a row before a request is locked, and for how long (ms).
    public var tailTries: Int = 5
    public var tailLockout: Int64 = 15 * 60 * 1000
    /// The largest public request body, in bytes.
    public var maximumBodyBytes: Int = 64 * 1024

    public init() {}
}

/// Token buckets by key (a peer's address): `capacity` tokens, refilled at `capacity` per
/// minute. A key not seen for a while is forgotten; the table is bounded.
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var at: Int64
    }

    private let capacity: Double
    private let buckets = Mutex<[String: Bucket]>([:])
    private static let maximumKeys = 100_000

    init(perMinute: Int) {
        capacity = Double(max(perMinute, 1))
    }

    /// Takes a token for `key` at `now` (ms): nil when taken, else the seconds until one is
    /// available (for `Retry-After`).
    func take(_ key: String, now: Int64) -> Int? {
        buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: capacity, at: now)
            let refill = Double(max(now - bucket.at, 0)) / 60_000 * capacity
            bucket.tokens = min(capacity, bucket.tokens + refill)
            bucket.at = now
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                buckets[key] = bucket
                if buckets.count > Self.maximumKeys { Self.prune(&buckets, now: now, capacity: capacity) }
                return nil
            }
            buckets[key] = bucket
            return max(1, Int(((1 - bucket.tokens) / capacity * 60).rounded(.up)))
        }
    }

    /// Drops the buckets that are full again (their keys would start afresh anyway).
    private static func prune(_ buckets: inout [String: Bucket], now: Int64, capacity: Double) {
        buckets = buckets.filter { _, bucket in bucket.tokens + Double(now - bucket.at) / 60_000 * capacity < capacity }
    }
}
