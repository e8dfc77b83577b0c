// swift-tools-version: 6.1
// TimelyRain (及时雨): a local-first sync engine and case system.
import PackageDescription

// Every `public import` is a visible decision (see ../shared/STYLE.md).
let upcoming: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "TimelyRain",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "SyncCore", targets: ["SyncCore"]),
        .library(name: "SyncProtocol", targets: ["SyncProtocol"]),
        .library(name: "CaseDomain", targets: ["CaseDomain"]),
        .library(name: "ReplicaStore", targets: ["ReplicaStore"]),
        .library(name: "CaseStore", targets: ["CaseStore"]),
        .library(name: "PolicyStore", targets: ["PolicyStore"]),
        .library(name: "SuggestionStore", targets: ["SuggestionStore"]),
        .executable(name: "rain", targets: ["rain"]),
        .executable(name: "rain-server", targets: ["rain-server"]),
        .executable(name: "rain-bench", targets: ["rain-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        // Tests only: reading and validating Protocol/openapi.yaml.
        .package(url: "https://github.com/mattpolzin/OpenAPIKit.git", from: "6.4.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // Pure sync logic: ids, dots, version vectors, HLC, changes, field merge,
        // winner rules, conflicts, "what does a peer lack". Standard library only.
        .target(name: "SyncCore", swiftSettings: upcoming),
        // Versioned wire types (v1), canonical JSON, strict validation of untrusted input.
        .target(
            name: "SyncProtocol",
            dependencies: ["SyncCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: upcoming
        ),
        // The case domain: kinds, categories, workflow, deadlines, case numbers, masking.
        .target(name: "CaseDomain", dependencies: ["SyncCore"], swiftSettings: upcoming),
        // The policy-direct domain (政策直达), pure: credit codes (GB 32100-2015), the
        // eligibility rule language, benefit amounts in fen, policy files, the enterprise
        // registry's CSV import and name search.
        .target(name: "PolicyDomain", dependencies: ["CaseDomain", "SyncCore", "SyncProtocol"], swiftSettings: upcoming),
        .target(name: "SuggestionDomain", dependencies: ["CaseDomain", "SyncCore", "SyncProtocol"], swiftSettings: upcoming),
        // The generic replicated store: one SQLite file (GRDB), migrations, the change log,
        // merge state, atomic local writes, idempotent batch apply, sync position, purge and
        // restore; each record kind's readable rows through its `RecordProjection`. Names no
        // kind's table or field; a kind's rule errors and minted numbers reach it through
        // SyncCore's `RecordRuleError` and the projection's `isMinted`.
        .target(
            name: "ReplicaStore",
            // CSQLite: the merge's two hottest statements bind and step through SQLite's C API.
            dependencies: ["SyncCore", "SyncProtocol", "CSQLite", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: upcoming
        ),
        // The `cases` kind on top of the store: its projection (rows, due dates, full-text
        // search), commands (new, edit, workflow moves, notes, ratings, reassign), queries
        // and the report.
        .target(
            name: "CaseStore",
            dependencies: ["SyncCore", "CaseDomain", "ReplicaStore", "CSQLite", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: upcoming
        ),
        // The `policy` kind on top of the store (政策直达): its projection (policies, the
        // enterprise registry, grants), commands (publish, import, match, apply, the grant
        // workflow) and queries.
        .target(
            name: "PolicyStore",
            dependencies: ["SyncCore", "CaseDomain", "PolicyDomain", "ReplicaStore", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: upcoming
        ),
        // The central server's library: routes, authentication, enrolment, push and pull
        // over HTTP (Hummingbird 2), and the server's storage behind a small protocol
        // (the embedded default keeps the merged state in a central replica file).
        .target(
            name: "SuggestionStore",
            dependencies: [
                "SyncCore", "CaseDomain", "CaseStore", "SuggestionDomain", "ReplicaStore", .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: upcoming
        ),
        .target(
            name: "SyncServer",
            dependencies: [
                "SyncCore", "SyncProtocol", "CaseDomain", "ReplicaStore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        // The residents' side of the server (DESIGN §8): the Open311 GeoReport v2 API and the
        // mobile page, their rate limits and guards; requests become the server's own writes
        // of cases, answered from the read model.
        .target(
            name: "Residents",
            dependencies: [
                "SyncServer", "SyncCore", "SyncProtocol", "CaseDomain", "SuggestionDomain",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        // Policy direct's part of the server: the payment-batch reservation (an office route
        // over the read model and a server write).
        .target(
            name: "PolicyServer",
            dependencies: [
                "SyncServer", "SyncCore", "PolicyDomain", "ReplicaStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: upcoming
        ),
        // The district's dashboard (`/dashboard`, `GET /stats`): staff accounts (scrypt), signed-in
        // sessions, the figures and action lists over the read model (the same `CaseReport`
        // as `rain report`), SVG charts and CSV/JSON exports.
        .target(
            name: "Dashboard",
            dependencies: [
                "SyncServer", "SyncCore", "SyncProtocol", "CaseDomain", "PolicyDomain", "SuggestionDomain", "DistrictStats", "ConsoleText",
                "ReplicaStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: upcoming
        ),
        // The central server's storage on PostgreSQL (postgres-nio): its own migrations, the
        // same pure push plan and SyncCore merge as the embedded storage, and the locking
        // that lets several server processes share one database. Apart from SyncServer so
        // that the fuzz builds and the office client never compile a PostgreSQL driver.
        .target(
            name: "CentralPostgres",
            dependencies: [
                "SyncServer", "SyncCore", "SyncProtocol", "ReplicaStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        // The office client's side of the protocol: enrolment and rekey, the sync session
        // driven over HTTP (AsyncHTTPClient) against a replica file. Knows no record kind.
        .target(
            name: "SyncClient",
            dependencies: [
                "SyncCore", "SyncProtocol", "ReplicaStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: upcoming
        ),
        // What `rain` and `rain-server` both print: display width of CJK text, tables, JSON
        // output, local time (the civil date: CaseDomain's).
        .target(name: "ConsoleText", dependencies: ["CaseDomain"], swiftSettings: upcoming),
        // The district's statistics document, pure: `rain report --json` and the server's
        // `/stats` render the same `CaseReport` with it (same keys, same definitions).
        .target(name: "DistrictStats", dependencies: ["CaseDomain", "SuggestionDomain", "ConsoleText"], swiftSettings: upcoming),
        // Seeded RNG, workload generators and the conformance-vector loader shared by
        // tests and benchmarks.
        .target(name: "TestSupport", dependencies: ["SyncCore", "SyncProtocol"], swiftSettings: upcoming),
        // The office client: argument parsing and wiring only.
        .executableTarget(
            name: "rain",
            dependencies: [
                "SyncCore", "SyncProtocol", "CaseDomain", "ReplicaStore", "CaseStore", "SyncClient", "ConsoleText", "PolicyDomain",
                "PolicyStore", "SuggestionDomain", "SuggestionStore", "DistrictStats",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: upcoming
        ),
        // The central server: argument parsing and wiring only.
        .executableTarget(
            name: "rain-server",
            dependencies: [
                "SyncServer", "CentralPostgres", "Residents", "SyncCore", "SyncProtocol", "CaseDomain", "ConsoleText", "PolicyDomain",
                "PolicyServer", "SuggestionDomain", "Dashboard", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        // libFuzzer targets (scripts/fuzz.sh): the change-batch decoder, and the server's
        // request handling over loopback HTTP. `CFuzzer` declares libFuzzer's entry point
        // (with a weak corpus-replay fallback for builds without -sanitize=fuzzer).
        .target(name: "CFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzer"], swiftSettings: upcoming),
        .executableTarget(name: "fuzz-batch", dependencies: ["FuzzSupport", "SyncCore", "SyncProtocol"], swiftSettings: upcoming),
        .executableTarget(
            name: "fuzz-server",
            dependencies: [
                "FuzzSupport", "SyncCore", "SyncProtocol", "SyncServer", "ReplicaStore", "CaseStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: upcoming
        ),
        // The system SQLite, for rain-bench's raw-SQLite baseline.
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .executableTarget(
            name: "rain-bench",
            dependencies: [
                "SyncCore", "SyncProtocol", "TestSupport", "CSQLite", "ReplicaStore", "CaseStore", "SyncServer", "SyncClient",
                "CentralPostgres", "CaseDomain", "PolicyDomain", "PolicyStore", "SuggestionDomain", "SuggestionStore", "Dashboard",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(name: "SyncCoreTests", dependencies: ["SyncCore", "TestSupport"], swiftSettings: upcoming),
        .testTarget(name: "ConsoleTextTests", dependencies: ["ConsoleText", "CaseDomain"], swiftSettings: upcoming),
        .testTarget(name: "CaseDomainTests", dependencies: ["CaseDomain", "SyncCore", "SyncProtocol"], swiftSettings: upcoming),
        .testTarget(
            name: "DistrictStatsTests",
            dependencies: ["DistrictStats", "Dashboard", "CaseDomain", "ConsoleText", "SyncServer", "SyncCore", "PolicyDomain"],
            swiftSettings: upcoming),
        .testTarget(
            name: "PolicyDomainTests",
            dependencies: [
                "PolicyDomain", "CaseDomain", "SyncCore", "SyncProtocol", "TestSupport", .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: upcoming),
        // End to end: the built `rain` on real replica files.
        .testTarget(
            name: "SuggestionDomainTests",
            dependencies: ["SuggestionDomain", "CaseDomain", "SyncCore", "SyncProtocol", "TestSupport"],
            swiftSettings: upcoming),
        .testTarget(
            name: "RainCLITests",
            dependencies: [
                "ReplicaStore", "CaseStore", "PolicyStore", "SuggestionStore", "SyncCore", .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "ReplicaStoreTests",
            dependencies: [
                "ReplicaStore", "CaseStore", "PolicyStore", "SuggestionStore", "CaseDomain", "SyncCore", "SyncProtocol", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: upcoming
        ),
        // End to end: a real rain-server process, real replica files, the built `rain`.
        .testTarget(
            name: "SyncEndToEndTests",
            dependencies: [
                "ReplicaStore", "CaseStore", "PolicyStore", "SyncClient", "SyncCore", "SyncProtocol", "TestSupport", "PolicyDomain",
                "SuggestionStore", "SuggestionDomain",
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            // Files an earlier release wrote, read by UpgradeTests from the source tree.
            exclude: ["Fixtures"],
            swiftSettings: upcoming
        ),
        // The central server's storage in process, and Protocol/openapi.yaml against the routes.
        .testTarget(
            name: "SyncServerTests",
            dependencies: [
                "SyncServer", "CentralPostgres", "Residents", "PolicyServer", "Dashboard", "SyncCore", "SyncProtocol", "ReplicaStore",
                "CaseStore",
                "TestSupport", "CaseDomain", "PolicyDomain", "SuggestionDomain", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "OpenAPIKit", package: "OpenAPIKit"), .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "SyncProtocolTests",
            dependencies: ["SyncCore", "SyncProtocol", "TestSupport"],
            swiftSettings: upcoming
        ),
    ],
    swiftLanguageModes: [.v6]
)
