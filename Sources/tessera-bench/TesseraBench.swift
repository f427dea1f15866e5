import ArgumentParser

/// The benchmarks, an executable of their own so that `tessera` ships without them (and
/// without AsyncHTTPClient): `tessera-bench ingest`, `read`, `all`, `parse`, `scale`, `restore`, `failover`.
@main
struct TesseraBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tessera-bench",
        abstract: "Benchmarks: most start an embedded cluster and server of their own (parse needs none).",
        subcommands: [
            IngestBenchCommand.self, ReadBenchCommand.self, AllBenchCommand.self, ParseBenchCommand.self, ScaleBenchCommand.self, RestoreBenchCommand.self,
            FailoverBenchCommand.self,
        ]
    )
}
