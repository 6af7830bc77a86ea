import Benchmark
import Foundation
import Media
import Pipeline
import Store

private let passphrase = "benchmark"

/// The pipeline with the media work in this process, so that the allocations counted are all of it; the
/// `keepsake` binary (worker processes included) is timed end to end by `../shared/bench/compare.sh`.
private func ingest(_ roots: [String], into library: Library, rehash: Bool = false) throws -> IngestSummary {
    let (files, skips) = Ingest.discover(roots)
    let options = IngestOptions(jobs: ProcessInfo.processInfo.activeProcessorCount, rehash: rehash, mediaWork: InProcessMediaWork())
    return try Ingest.run(files: files, skips: skips, library: library, options: options, observer: SilentObserver())
}

private struct SilentObserver: IngestObserver {
    func started(_ file: DiscoveredFile) {}
    func read(bytes: Int64) {}
    func finished(_ outcome: FileOutcome) {}
}

func ingestBenchmarks() {
    // One sample per run: the new library (and its Argon2id unlock) is made before the measurement starts.
    Benchmark("ingest samples/media end to end (new library each time)",
              configuration: .init(scalingFactor: .one, maxIterations: 5)) { benchmark in
        let library = try Library.open(at: BenchmarkData.temporaryDirectory("ingest") + "/lib", passphrase: passphrase, create: true)
        benchmark.startMeasurement()
        let summary = try ingest([BenchmarkData.samples], into: library)
        precondition(summary.count(.failed) == 0, "every sample must ingest")
        blackHole(summary)
    }

    // Issue 8: a re-run over 10,000 unchanged small files is recognised by path, size, mtime and inode.
    Benchmark("re-scan 10,000 unchanged small JPEGs", configuration: .init(scalingFactor: .one, maxIterations: 5)) { benchmark in
        let folder = try makeTinyJPEGs(count: 10_000)
        let library = try Library.open(at: BenchmarkData.temporaryDirectory("rescan") + "/lib", passphrase: passphrase, create: true)
        _ = try ingest([folder], into: library)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let summary = try ingest([folder], into: library)
            precondition(summary.count(.duplicate) == 10_000, "every file of the re-scan must be recognised as unchanged")
        }
    }

    // Issue 20, item 3: 10,000 small files into a new local library, through the built `keepsake` (media workers and
    // the store's fsyncs included), so that group commit shows. Files/s = 10,000 / the time.
    Benchmark("ingest 10,000 small JPEGs (new local library)", configuration: .init(scalingFactor: .one, maxIterations: 3)) { benchmark in
        let folder = try makeTinyJPEGs(count: 10_000)
        let library = BenchmarkData.temporaryDirectory("small") + "/lib"
        let keepsake = BenchmarkData.packageRoot.appendingPathComponent(".build/release/keepsake").path
        precondition(FileManager.default.isExecutableFile(atPath: keepsake), "build it first: swift build -c release")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: keepsake)
        process.arguments = ["ingest", folder, "--library", library]
        process.environment = ProcessInfo.processInfo.environment.merging(["KEEPSAKE_PASSPHRASE": passphrase]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        benchmark.startMeasurement()
        try process.run()
        process.waitUntilExit()
        benchmark.stopMeasurement()
        precondition(process.terminationStatus == 0, "keepsake ingest failed")
        try? FileManager.default.removeItem(atPath: folder)
        try? FileManager.default.removeItem(atPath: library)
    }
}

/// 10,000 distinct small JPEGs: one 64×48 frame from the ffmpeg CLI, each copy made unique by bytes after its EOI.
private func makeTinyJPEGs(count: Int) throws -> String {
    let folder = BenchmarkData.temporaryDirectory("tiny")
    let seed = folder + "/seed.jpg"
    let ffmpeg = Process()
    ffmpeg.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
    ffmpeg.arguments = ["-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x48", "-frames:v", "1", seed]
    try ffmpeg.run()
    ffmpeg.waitUntilExit()
    let jpeg = try Data(contentsOf: URL(fileURLWithPath: seed))
    try FileManager.default.removeItem(atPath: seed)
    for index in 0..<count {
        let subfolder = folder + "/\(index / 1000)"
        try FileManager.default.createDirectory(atPath: subfolder, withIntermediateDirectories: true)
        var unique = jpeg
        withUnsafeBytes(of: UInt32(index).bigEndian) { unique.append(contentsOf: $0) }
        try unique.write(to: URL(fileURLWithPath: subfolder + "/IMG_\(index).jpg"))
    }
    return folder
}
