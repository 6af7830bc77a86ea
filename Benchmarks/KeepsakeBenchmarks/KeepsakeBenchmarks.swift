import Benchmark

/// Every stage of the pipeline, and ingest end to end: `scripts/bench` runs them.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        maxDuration: .seconds(10),
        maxIterations: 20)
    cryptoBenchmarks()
    mediaBenchmarks()
    storeBenchmarks()
    ingestBenchmarks()
}
