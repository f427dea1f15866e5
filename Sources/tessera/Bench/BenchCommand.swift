import ArgumentParser

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks, against an embedded cluster and server this command starts.",
        subcommands: [IngestBenchCommand.self, ReadBenchCommand.self, AllBenchCommand.self, ScaleBenchCommand.self]
    )
}
