import CaseDomain

/// What a published text must not contain (README, "Suggestions"): a published golden
/// idea is public, so its title and text are checked before they are written.
public enum PersonalDataCheck {
    /// What was found.
    public enum Finding: String, Sendable, Hashable {
        case phone
        case idNumber = "id_number"
        case bankAccount = "bank_account"
        case name, address

        public var zh: String {
            switch self {
            case .phone: "电话号码"
            case .idNumber: "身份证号"
            case .bankAccount: "银行账号"
            case .name: "提出人姓名"
            case .address: "提出人地址"
            }
        }
    }

    /// The first kind of personal data `text` holds: a run of 7 or more digits (a phone,
    /// an identity or account number; full-width digits and separators between them
    /// counted), or one of `known` — the suggester's name (two characters or more) and
    /// address as the case holds them.
    public static func finding(in text: String, name: String? = nil, address: String? = nil) -> Finding? {
        let folded = LikenessKeys.fold(text)
        var run = 0
        var longest = 0
        var pendingSeparator = false
        for character in folded {
            if character.isASCII, character.isNumber || (run > 0 && character.uppercased() == "X") {
                run += 1
                pendingSeparator = false
                longest = max(longest, run)
            } else if run > 0, !pendingSeparator, character == " " || character == "-" {
                pendingSeparator = true
            } else {
                run = 0
                pendingSeparator = false
            }
        }
        switch longest {
        case 18: return .idNumber
        case 15, 16, 17, 19: return .bankAccount
        case 7...: return .phone
        default: break
        }
        if let name = name?.trimmingSpaces, name.count >= 2, folded.contains(name.lowercased()) { return .name }
        if let address = address?.trimmingSpaces, address.count >= 4, folded.contains(LikenessKeys.fold(address)) {
            return .address
        }
        return nil
    }
}
