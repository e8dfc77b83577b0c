#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The text of a file as agencies export them: UTF-8 (with or without a byte order mark)
/// or GB18030 (which Excel on a Chinese system writes). Valid UTF-8 is read as UTF-8;
/// anything else must be valid GB18030.
public enum TextDecoding {
    /// Which encoding a file was read in.
    public enum Encoding: String, Sendable {
        case utf8 = "UTF-8"
        case gb18030 = "GB18030"
    }

    /// Why a file's bytes are not text.
    public struct Failure: Error, Hashable, Sendable {
        /// The 1-based line of the first byte that is neither UTF-8 nor GB18030.
        public let line: Int

        public func message(_ zh: Bool) -> String {
            zh
                ? "无法读取文件：既不是 UTF-8 也不是 GB18030 编码（第 \(line) 行）"
                : "cannot read the file: it is neither UTF-8 nor GB18030 (line \(line))"
        }
    }

    /// Decodes `bytes`: the text and the encoding it was in.
    public static func decode(_ bytes: [UInt8]) throws(Failure) -> (text: String, encoding: Encoding) {
        var body = bytes[...]
        let marked = body.starts(with: [0xEF, 0xBB, 0xBF])
        if marked { body = body.dropFirst(3) }
        if let text = String(validating: body, as: UTF8.self) { return (text, .utf8) }
        // A file that says it is UTF-8 is not guessed at: its first bad byte is named.
        guard !marked else { throw Failure(line: firstInvalidUTF8Line(Array(body))) }
        return (try gb18030(Array(bytes)), .gb18030)
    }

    /// The line of the first byte sequence that is not UTF-8.
    static func firstInvalidUTF8Line(_ bytes: [UInt8]) -> Int {
        var line = 1
        var start = 0
        // Line by line: the first line that does not validate holds the bad byte.
        for (index, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
            if String(validating: bytes[start..<index], as: UTF8.self) == nil { return line }
            line += 1
            start = index + 1
        }
        return line
    }

    /// GB18030 through the C library's iconv (Foundation on Linux has no such encoding).
    static func gb18030(_ bytes: [UInt8]) throws(Failure) -> String {
        let converter = iconv_open("UTF-8", "GB18030")
        guard converter != iconv_t(bitPattern: -1) else { throw Failure(line: 1) }
        defer { iconv_close(converter) }
        var input = bytes
        // GB18030 is at most 4 bytes per character, UTF-8 at most 4: twice is ample.
        var output = [UInt8](repeating: 0, count: bytes.count * 2 + 16)
        let inCount = input.count
        let outCount = output.count
        let (remaining, produced): (Int, Int) = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                var inPointer: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(inBuffer.baseAddress!)
                    .assumingMemoryBound(to: CChar.self)
                var outPointer: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(outBuffer.baseAddress!)
                    .assumingMemoryBound(to: CChar.self)
                var inLeft = inCount
                var outLeft = outCount
                _ = iconv(converter, &inPointer, &inLeft, &outPointer, &outLeft)
                return (inLeft, outCount - outLeft)
            }
        }
        guard remaining == 0 else {
            let failedAt = inCount - remaining
            throw Failure(line: 1 + bytes[..<failedAt].count { $0 == UInt8(ascii: "\n") })
        }
        return String(decoding: output[..<produced], as: UTF8.self)
    }
}
