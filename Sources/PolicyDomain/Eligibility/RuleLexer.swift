/// A token of the rule language and where it starts (1-based, in characters).
struct RuleToken: Equatable {
    enum Kind: Equatable {
        case word(String)
        case text(String)
        case number(String)
        case date(String)
        case symbol(String)
        case end
    }

    let kind: Kind
    let position: Int

    /// How the token reads in an error message.
    var shown: String {
        switch kind {
        case .word(let word): word
        case .text(let text): "\"\(text)\""
        case .number(let text), .date(let text), .symbol(let text): text
        case .end: "the end of the rule"
        }
    }
}

/// Splits a rule into tokens. Full-width brackets, commas, quotes and operators (as an
/// input method types them) read as their ASCII forms.
enum RuleLexer {
    static let fullWidth: [Character: Character] = [
        "（": "(", "）": ")", "［": "[", "］": "]", "【": "[", "】": "]", "，": ",", "＝": "=", "＜": "<", "＞": ">", "！": "!",
    ]

    static func tokens(_ source: String) throws(RuleError) -> [RuleToken] {
        // Full-width forms are read as ASCII outside quotes only: a quoted value is kept
        // exactly as written (a tag such as 小巨人（国家级）).
        let raw = Array(source)
        let characters = raw.map { fullWidth[$0] ?? $0 }
        var tokens: [RuleToken] = []
        var index = 0
        func peek(_ offset: Int = 0) -> Character? {
            index + offset < characters.count ? characters[index + offset] : nil
        }
        while index < characters.count {
            let character = characters[index]
            let start = index + 1
            if character.isWhitespace {
                index += 1
                continue
            }
            if "()[],".contains(character) {
                tokens.append(RuleToken(kind: .symbol(String(character)), position: start))
                index += 1
            } else if "=!<>".contains(character) {
                var symbol = String(character)
                if let next = peek(1), next == "=" || (character == "<" && next == ">") {
                    symbol.append(next)
                    index += 1
                }
                index += 1
                guard symbol != "!" else { throw RuleError(reason: .unexpectedCharacter("!"), position: start) }
                tokens.append(RuleToken(kind: .symbol(symbol == "==" ? "=" : symbol == "<>" ? "!=" : symbol), position: start))
            } else if let close = Self.closing(character) {
                var text = ""
                index += 1
                while index < raw.count, raw[index] != close {
                    text.append(raw[index])
                    index += 1
                }
                guard index < raw.count else { throw RuleError(reason: .unterminatedText, position: start) }
                index += 1
                tokens.append(RuleToken(kind: .text(text), position: start))
            } else if character.isASCII && (character.isNumber || character == "-") {
                var text = String(character)
                index += 1
                while let next = peek(), next.isASCII, next.isNumber || next == "-" || next == "." || next == "_" || next.isLetter {
                    text.append(next)
                    index += 1
                }
                let isDate =
                    text.count == 10 && text.split(separator: "-", omittingEmptySubsequences: false).count == 3
                    && !text.hasPrefix("-")
                tokens.append(RuleToken(kind: isDate ? .date(text) : .number(text), position: start))
            } else if character.isLetter || character == "_" {
                var word = String(character)
                index += 1
                while let next = peek(), next.isLetter || next.isNumber || next == "_" {
                    word.append(next)
                    index += 1
                }
                tokens.append(RuleToken(kind: .word(word), position: start))
            } else {
                throw RuleError(reason: .unexpectedCharacter(character), position: start)
            }
        }
        tokens.append(RuleToken(kind: .end, position: characters.count + 1))
        return tokens
    }

    private static func closing(_ open: Character) -> Character? {
        switch open {
        case "\"": "\""
        case "'": "'"
        case "“": "”"
        case "‘": "’"
        case "「": "」"
        default: nil
        }
    }
}
