import ArgumentParser

/// The benchmarks, an executable of their own so that `tessera` ships without them (and
/// without AsyncHTTPClient): `tessera-bench ingest`, `read`, `all`, `parse`, `scale`, `restore`, `failover`.
@main
struct TesseraBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tessera-bench",
        abstract: "Benchmarks, against an embedded cluster and server this command starts.",
        subcommands: [
            IngestBenchCommand.self, ReadBenchCommand.self, AllBenchCommand.self, ParseBenchCommand.self, ScaleBenchCommand.self, RestoreBenchCommand.self,
            FailoverBenchCommand.self,
        ]
    )
}
