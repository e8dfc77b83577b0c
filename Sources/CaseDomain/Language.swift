/// The language of labels and messages (`--lang zh|en`).
public enum Language: String, Sendable, CaseIterable {
    case zh
    case en

    /// The language named by a locale string such as `zh_CN.UTF-8` or `en_US`;
    /// Chinese unless the locale says English.
    public init(locale: String?) {
        self = (locale ?? "").lowercased().hasPrefix("en") ? .en : .zh
    }
}
