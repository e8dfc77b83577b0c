/// Where the replica file lives: `--db PATH`, else `$RAIN_DB`, else
/// `$XDG_DATA_HOME/rain/replica.sqlite`, else `~/.local/share/rain/replica.sqlite`.
public enum ReplicaPath {
    /// The path to use, given the `--db` option and the environment.
    public static func resolve(option: String?, environment: [String: String]) -> String {
        if let option, !option.isEmpty { return option }
        if let path = environment["RAIN_DB"], !path.isEmpty { return path }
        if let data = environment["XDG_DATA_HOME"], !data.isEmpty { return data + "/rain/replica.sqlite" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "."
        return home + "/.local/share/rain/replica.sqlite"
    }
}
