import ArgumentParser

/// `rain-bench`: TimelyRain's benchmarks, always side by side with raw SQLite in the
/// same run (timings are never asserted in tests).
@main
struct RainBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rain-bench",
        abstract: "Measure TimelyRain against raw SQLite on workload W1/W1c (../shared/bench/WORKLOAD.md).",
        discussion: """
            Build in release mode for meaningful figures:
              swift run -c release rain-bench core
              swift run -c release rain-bench core --data w1.tsv   # the shared dump
              swift build -c release --product rain && swift run -c release rain-bench store
              swift build -c release --product rain-server && swift run -c release rain-bench sync
            """,
        subcommands: [
            CoreBenchmark.self, StoreBenchmark.self, SyncBenchmark.self, LoadBenchmark.self, PullCostBenchmark.self, PublicBenchmark.self,
            PolicyBenchmark.self, PolicyDistrict.self, SimilarBenchmark.self, DashboardBenchmark.self,
        ]
    )
}
