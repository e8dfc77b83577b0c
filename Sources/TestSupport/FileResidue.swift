import Foundation

/// What a database file leaves on disk, read as raw bytes: the file itself and every
/// file beside it whose name starts with its name (SQLite's `-wal`, `-shm` and
/// `-journal`), so that a value that survives anywhere SQLite keeps it — free pages, the
/// write-ahead log's older frames, a rollback journal — is found, whichever table held
/// it.
public struct FileResidue: Sendable {
    /// The database file and the files beside it that were read, by name.
    public let files: [String]
    private let bytes: Data

    /// Reads `path` and its companions now.
    ///
    /// - Throws: when the folder or a file cannot be read.
    public init(of path: String) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let name = url.lastPathComponent
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasPrefix(name) }.sorted()
        var bytes = Data()
        for file in names {
            bytes.append(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + file)))
            // A value split across two files is not one value.
            bytes.append(contentsOf: [0, 0, 0, 0])
        }
        self.files = names
        self.bytes = bytes
    }

    /// Whether the UTF-8 bytes of `text` occur anywhere in the files.
    public func contains(_ text: String) -> Bool {
        let needle = Data(text.utf8)
        guard !needle.isEmpty else { return false }
        // Foundation's search (built optimised): megabytes per value, many values per
        // test, in debug builds.
        return bytes.range(of: needle) != nil
    }

    /// The values of `texts` found in the files.
    public func found(_ texts: [String]) -> [String] {
        texts.filter(contains)
    }

    /// Every run of three characters of `text` (what a trigram full-text index stores as
    /// its terms).
    public static func trigrams(of text: String) -> [String] {
        let characters = Array(text)
        guard characters.count >= 3 else { return [] }
        return (0...(characters.count - 3)).map { String(characters[$0..<($0 + 3)]) }
    }
}
