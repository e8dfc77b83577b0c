import SyncServer
import Testing

/// `--db` / `$RAIN_SERVER_DB`: a path means SQLite, a postgres:// URL PostgreSQL; a bad
/// URL is refused naming what is wrong, and the password is never shown.
@Suite struct DatabaseLocationTests {
    @Test(arguments: ["central.sqlite", "/var/lib/rain/central.sqlite", "./数据/central.sqlite", "C:x"])
    func aPathMeansSQLite(text: String) throws {
        #expect(try DatabaseLocation(parsing: text) == .sqlite(path: text))
    }

    @Test func aURLIsReadWhole() throws {
        #expect(
            try DatabaseLocation(parsing: "postgres://rain@localhost/rain")
                == .postgres(PostgresLocation(user: "rain", host: "localhost", database: "rain")))
        let full = try DatabaseLocation(parsing: "postgresql://rain:s%40cret%2F1@db.example:6543/rain_district?sslmode=require&pool=8")
        #expect(
            full
                == .postgres(
                    PostgresLocation(
                        user: "rain", password: "s@cret/1", host: "db.example", port: 6543, database: "rain_district", tls: .require,
                        poolSize: 8)))
        #expect(
            try DatabaseLocation(parsing: "postgres://rain@[::1]:5433/rain?sslmode=disable")
                == .postgres(PostgresLocation(user: "rain", host: "::1", port: 5433, database: "rain", tls: .disable)))
    }

    @Test func theDescriptionHidesThePasswordAndReadsBack() throws {
        let location = PostgresLocation(
            user: "区管理员", password: "s@cret", host: "db.example", port: 6543, database: "rain district", tls: .require, poolSize: 8)
        #expect(
            location.description
                == "postgres://%E5%8C%BA%E7%AE%A1%E7%90%86%E5%91%98:***@db.example:6543/rain%20district?sslmode=require&pool=8")
        var withoutPassword = location
        withoutPassword.password = nil
        #expect(try DatabaseLocation(parsing: withoutPassword.description) == .postgres(withoutPassword))
        let v6 = PostgresLocation(user: "rain", host: "::1", database: "rain")
        #expect(v6.description == "postgres://rain@[::1]:5432/rain")
        #expect(try DatabaseLocation(parsing: v6.description) == .postgres(v6))
    }

    @Test(arguments: [
        ("", "empty"),
        ("mysql://rain@localhost/rain", "scheme \"mysql\" is not supported"),
        ("postgres://localhost/rain", "names no user"),
        ("postgres://:pw@localhost/rain", "user is empty"),
        ("postgres://rain@localhost", "names no database"),
        ("postgres://rain@localhost/", "names no database"),
        ("postgres://rain@/rain", "host is empty"),
        ("postgres://rain@localhost:99999/rain", "port \"99999\""),
        ("postgres://rain@localhost:x/rain", "port \"x\""),
        ("postgres://rain@[::1/rain", "unclosed ["),
        ("postgres://rain@localhost/a/b", "contains a /"),
        ("postgres://rain@localhost/rain?sslmode=verify-full", "sslmode \"verify-full\" is not one of disable, prefer, require"),
        ("postgres://rain@localhost/rain?pool=0", "pool \"0\""),
        ("postgres://rain@localhost/rain?timeout=3", "parameter \"timeout\" is unknown"),
        ("postgres://rain:topsecret%zz@localhost/rain", "password has a % not followed by two hexadecimal digits"),
        ("postgres://rain:%FF%FEtopsecret@localhost/rain", "password is not UTF-8"),
    ])
    func aBadDatabaseIsRefusedNamingWhy(text: String, why: String) {
        do {
            let location = try DatabaseLocation(parsing: text)
            Issue.record("\(text) was read as \(location)")
        } catch {
            #expect(error.message.hasPrefix("cannot use the database: "))
            #expect(error.message.contains(why), "\(error.message)")
            #expect(!error.message.contains("topsecret"), "the password is never shown")
        }
    }
}
