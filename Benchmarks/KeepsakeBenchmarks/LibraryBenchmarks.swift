import Benchmark
import Foundation
import Store
import Synchronization

/// What a benchmark's setup opened, for its measurements (each benchmark runs in a process of its own).
private let opened = Mutex<(reader: Library?, writer: Library?, nextItem: Int)>((nil, nil, 1_000_000))
private let s3Server = Mutex<(moto: Moto, location: StoreLocation)?>(nil)

/// Issue 14: a new machine rebuilds its index from the store (the newest checkpoint, the log after it, the records
/// no one names); issue 15: `sync` pulls what other library folders wrote. See `LibraryFixture` for the library.
func libraryBenchmarks() {
    let local = LocalLibraries.fixture
    let rebuild = Benchmark.Configuration(metrics: [.wallClock, .peakMemoryResident, .mallocCountTotal], scalingFactor: .one,
                                          maxDuration: .seconds(60), maxIterations: 5, setup: { try LocalLibraries.make() })

    // Each measurement opens a new library folder on the store: the passphrase's Argon2id (see "open an indexed
    // library") and then the rebuild.
    for (label, library, after) in [("", LocalLibraries.checkpointed, 0), (", worst case", LocalLibraries.worstCase, local.itemsAfterCheckpoint)] {
        Benchmark("rebuild \(grouped(local.count)) items, local store\(label) (\(grouped(after)) entries after the checkpoint)",
                  configuration: rebuild) { benchmark in
            let folder = LibraryFixture.folder(sharing: library + "/store")
            defer { LibraryFixture.remove(folder) }
            benchmark.startMeasurement()
            let rebuilt = try Library.open(at: folder, passphrase: LibraryFixture.passphrase, create: false)
            benchmark.stopMeasurement()
            let listed = try rebuilt.index.counts().items
            precondition(listed == local.listedItems, "the rebuilt index lists \(listed) items")
        }
    }

    Benchmark("open an indexed library (\(grouped(local.count)) items, local store: Argon2id, one pull)", configuration: rebuild) { benchmark in
        let library = try Library.open(at: LocalLibraries.checkpointed, passphrase: LibraryFixture.passphrase, create: false)
        benchmark.stopMeasurement()
        let listed = try library.index.counts().items
        precondition(listed == local.listedItems, "the index lists \(listed) items")
    }

    Benchmark("sync, nothing new (\(grouped(local.count)) items, local store)",
              configuration: .init(scalingFactor: .one, maxDuration: .seconds(20), maxIterations: 50, setup: {
                  try LocalLibraries.make()
                  let reader = try Library.open(at: LocalLibraries.checkpointed, passphrase: LibraryFixture.passphrase, create: false)
                  opened.withLock { $0.reader = reader }
              })) { benchmark in
        let report = try opened.withLock { $0.reader! }.sync()
        precondition(report.applied == 0 && report.problems.isEmpty, "nothing new: \(report)")
    }

    let syncCopy = NSTemporaryDirectory() + "keepsake-bench-sync-\(getpid())"
    // The reader is a copy of the checkpointed library (so that the fixture stays as it is); the writer is another
    // library folder on the copy's store, and writes 1,000 items before each measurement.
    Benchmark("sync, 1,000 new entries from another library folder (\(grouped(local.count)) items, local store)",
              configuration: .init(warmupIterations: 0, scalingFactor: .one, maxDuration: .seconds(120), maxIterations: 2, setup: {
                  try LocalLibraries.make()
                  let copy = syncCopy + "/library"
                  try FileManager.default.createDirectory(atPath: syncCopy, withIntermediateDirectories: true)
                  try run("/bin/cp", ["-a", LocalLibraries.checkpointed, copy])
                  let reader = try Library.open(at: copy, passphrase: LibraryFixture.passphrase, create: false)
                  let writer = try Library.open(at: LibraryFixture.folder(sharing: copy + "/store"),
                                                passphrase: LibraryFixture.passphrase, create: false)
                  opened.withLock { $0 = (reader, writer, 1_000_000) }
              }, teardown: {
                  // The copy is a quarter of a gigabyte.
                  try? FileManager.default.removeItem(atPath: syncCopy)
              })) { benchmark in
        let (reader, writer, first) = opened.withLock { ($0.reader!, $0.writer!, $0.nextItem) }
        do {
            let (lock, _) = try writer.lockForWriting()
            defer { withExtendedLifetime(lock) {} }
            for number in first..<first + 1_000 { try LibraryFixture.commitItem(number, to: writer) }
            opened.withLock { $0.nextItem = first + 1_000 }
        }
        benchmark.startMeasurement()
        let report = try reader.sync()
        benchmark.stopMeasurement()
        precondition(report.applied == 1_000 && report.problems.isEmpty, "1,000 new entries: \(report)")
    }

    s3Benchmarks()
}

/// The same over S3 (moto on loopback, started by the benchmark): 1,000 items (`$KEEPSAKE_BENCH_S3_ITEMS` to change),
/// because each benchmark makes its own library in its moto, at about 30 items a second (five requests an item). The
/// GET and LIST requests a measurement sent are metrics of their own.
private func s3Benchmarks() {
    let fixture = LibraryFixture(count: ProcessInfo.processInfo.environment["KEEPSAKE_BENCH_S3_ITEMS"].flatMap { Int($0) } ?? 1_000)
    let gets = BenchmarkMetric.custom("S3 GET requests"), lists = BenchmarkMetric.custom("S3 LIST requests")

    /// Starts moto and makes the library on it, checkpointed at the end (as after an ingest) or in the worst case.
    @Sendable func makeLibrary(checkpointed: Bool) throws {
        let moto = try Moto()
        let location = try moto.location(prefix: "library")
        let library = try Library.open(at: BenchmarkData.temporaryDirectory("s3-maker") + "/library", store: location,
                                       passphrase: LibraryFixture.passphrase, create: true)
        let took = try fixture.fill(library)
        if checkpointed {
            let (lock, _) = try library.lockForWriting()
            defer { withExtendedLifetime(lock) {} }
            try library.checkpointIfDue()
        }
        let made = moto.requests()
        report("made \(grouped(fixture.count)) items over S3 in \(took) (\(Double(fixture.count) / took.seconds) items/s, "
               + "\(made.gets + made.lists + made.others) requests)")
        s3Server.withLock { $0 = (moto, location) }
    }

    for (label, checkpointed, after) in [("", true, 0), (", worst case", false, fixture.itemsAfterCheckpoint)] {
        Benchmark("rebuild \(grouped(fixture.count)) items, S3 (moto)\(label) (\(grouped(after)) entries after the checkpoint)",
                  configuration: .init(metrics: [.wallClock, gets, lists], warmupIterations: 0, scalingFactor: .one,
                                       maxDuration: .seconds(120), maxIterations: 3,
                                       setup: { try makeLibrary(checkpointed: checkpointed) })) { benchmark in
            let (moto, location) = s3Server.withLock { $0! }
            let parent = BenchmarkData.temporaryDirectory("s3-rebuild"), folder = parent + "/library"
            defer { try? FileManager.default.removeItem(atPath: parent) }
            let before = moto.requests()
            benchmark.startMeasurement()
            let rebuilt = try Library.open(at: folder, store: location, passphrase: LibraryFixture.passphrase, create: false)
            benchmark.stopMeasurement()
            let requests = moto.requests(since: before)
            let listed = try rebuilt.index.counts().items
            precondition(listed == fixture.listedItems, "the rebuilt index lists \(listed) items")
            benchmark.measurement(gets, requests.gets)
            benchmark.measurement(lists, requests.lists)
        }
    }

    Benchmark("sync, nothing new (\(grouped(fixture.count)) items, S3 (moto))",
              configuration: .init(metrics: [.wallClock, gets, lists], scalingFactor: .one, maxDuration: .seconds(20), maxIterations: 20,
                                   setup: {
                                       try makeLibrary(checkpointed: true)
                                       let location = s3Server.withLock { $0!.location }
                                       let reader = try Library.open(at: BenchmarkData.temporaryDirectory("s3-sync") + "/library",
                                                                     store: location, passphrase: LibraryFixture.passphrase, create: false)
                                       opened.withLock { $0.reader = reader }
                                   })) { benchmark in
        let moto = s3Server.withLock { $0!.moto }
        let reader = opened.withLock { $0.reader! }
        let before = moto.requests()
        benchmark.startMeasurement()
        let report = try reader.sync()
        benchmark.stopMeasurement()
        let requests = moto.requests(since: before)
        precondition(report.applied == 0 && report.problems.isEmpty, "nothing new: \(report)")
        benchmark.measurement(gets, requests.gets)
        benchmark.measurement(lists, requests.lists)
    }
}

/// 10000 as "10,000".
private func grouped(_ number: Int) -> String {
    let digits = Array(String(number))
    return String(digits.enumerated().flatMap { index, digit in (index > 0 && (digits.count - index) % 3 == 0 ? [Character(",")] : []) + [digit] })
}
