import CaseDomain
import CaseStore
import ConsoleText
import Foundation
import ReplicaStore

#if canImport(Glibc)
    import Glibc
#endif

/// How `rain` prints: language, colour (only on a terminal), tables aligned by display
/// width (a Chinese character takes two columns).
struct Output {
    let language: Language
    let colour: Bool

    init(language: Language) {
        self.language = language
        colour = isatty(STDOUT_FILENO) != 0 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    }

    func text(_ zh: String, _ en: String) -> String { language == .zh ? zh : en }

    func bold(_ text: String) -> String { colour ? "\u{1B}[1m\(text)\u{1B}[0m" : text }
    func dim(_ text: String) -> String { colour ? "\u{1B}[2m\(text)\u{1B}[0m" : text }
    func red(_ text: String) -> String { colour ? "\u{1B}[31m\(text)\u{1B}[0m" : text }
    func yellow(_ text: String) -> String { colour ? "\u{1B}[33m\(text)\u{1B}[0m" : text }

    /// Prints rows under a header, each column padded to its widest cell's display width.
    func table(_ header: [String], _ rows: [[String]]) {
        for (index, line) in tableLines(header, rows).enumerated() { print(index == 0 ? bold(line) : line) }
    }
}
