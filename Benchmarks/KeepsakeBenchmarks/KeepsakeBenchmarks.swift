import Benchmark
import Logging

/// Every stage of the pipeline, ingest end to end, and a library's rebuild and sync: `scripts/bench` runs them.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        maxDuration: .seconds(10),
        maxIterations: 20)
    // The pipeline logs each file at info level; here that would only bury the tables.
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = .warning
        return handler
    }
    cryptoBenchmarks()
    mediaBenchmarks()
    streamFloorBenchmarks()
    storeBenchmarks()
    ingestBenchmarks()
    libraryBenchmarks()
}
