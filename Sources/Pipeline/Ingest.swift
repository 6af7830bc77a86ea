import Foundation
import Media
import Store
import Synchronization

/// The result of one `ingest` run.
public struct IngestSummary: Sendable {
    public var outcomes: [FileOutcome] = []
    public var skipped = DiscoverySkips()
    public var orphansRemoved = 0
    public var seconds = 0.0

    public func count(_ status: FileOutcome.Status) -> Int { outcomes.filter { $0.status == status }.count }
    public func stored(_ type: ItemType) -> Int { outcomes.filter { $0.status == .stored && $0.type == type }.count }
    public var failures: [FileOutcome] { outcomes.filter(\.isFailure) }
    public var storedWithProblems: [FileOutcome] { outcomes.filter { $0.status == .stored && !$0.notProduced.isEmpty } }
    public var bytesStored: Int64 { outcomes.filter { $0.status == .stored }.reduce(0) { $0 + $1.bytes } }
    public var bytesRead: Int64 { outcomes.reduce(0) { $0 + $1.bytes } }
}

/// `keepsake ingest`: discovers the files under the given folders and runs each through `FileJob` on a
/// bounded pool of worker threads.
public enum Ingest {
    /// Lists what would be ingested (for the progress bar's totals) without touching the library.
    public static func discover(_ roots: [String]) -> (files: [DiscoveredFile], skips: DiscoverySkips) {
        Discovery.walk(roots)
    }

    public static func run(files: [DiscoveredFile], skips: DiscoverySkips, library: Library, options: IngestOptions,
                           observer: any IngestObserver) throws -> IngestSummary {
        let start = ContinuousClock.now
        let (lock, orphans) = try library.lockForWriting()
        defer { withExtendedLifetime(lock) {} }
        // Largest first: long videos start early and the small files fill the other workers around them.
        let ordered = files.sorted { $0.size != $1.size ? $0.size > $1.size : $0.path < $1.path }
        let outcomes = Mutex<[FileOutcome]>([])
        WorkerPool.run(ordered, workers: options.jobs) { file in
            observer.started(file)
            let outcome = FileJob(file: file, library: library, options: options, observer: observer).run()
            outcomes.withLock { $0.append(outcome) }
            observer.finished(outcome)
        }
        var summary = IngestSummary()
        let unreadable = skips.unreadable.map { FileOutcome(path: $0.path, status: .failed, bytes: 0, reason: "cannot read: \($0.reason)") }
        summary.outcomes = (outcomes.withLock { $0 } + unreadable).sorted { $0.path < $1.path }
        summary.skipped = skips
        summary.orphansRemoved = orphans
        let elapsed = ContinuousClock.now - start
        summary.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return summary
    }
}
