/// Byte-wise (UTF-8) string order: the same on every platform and in every language,
/// unlike `String.<`, which compares Unicode scalars after normalisation.
@inline(__always)
func utf8Precedes(_ a: String, _ b: String) -> Bool {
    // Native strings expose their bytes; compare them with memcmp semantics.
    if let result = a.utf8.withContiguousStorageIfAvailable({ left in
        b.utf8.withContiguousStorageIfAvailable { right -> Bool in
            let count = min(left.count, right.count)
            for index in 0..<count where left[index] != right[index] { return left[index] < right[index] }
            return left.count < right.count
        }
    }), let result {
        return result
    }
    return a.utf8.lexicographicallyPrecedes(b.utf8)
}
