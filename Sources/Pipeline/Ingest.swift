import FileSystem
import Foundation
import Logging
import MediaTypes
import Store
import Synchronization

/// The result of one `ingest` run.
public struct IngestSummary: Sendable {
    public var outcomes: [FileOutcome] = []
    public var skipped = DiscoverySkips()
    public var orphansRemoved = 0
    public var seconds = 0.0

    public func count(_ status: FileOutcome.Status) -> Int { outcomes.filter { $0.status == status }.count }
    /// Items stored of `type` (a Live Photo's two files are one item).
    public func stored(_ type: ItemType) -> Int {
        Set(outcomes.filter { $0.status == .stored && $0.type == type }.compactMap(\.itemId)).count
    }
    public var failures: [FileOutcome] { outcomes.filter(\.isFailure) }
    public var storedWithProblems: [FileOutcome] { outcomes.filter { $0.status == .stored && !$0.notProduced.isEmpty } }
    public var bytesStored: Int64 { outcomes.filter { $0.status == .stored }.reduce(0) { $0 + $1.bytes } }
    public var bytesRead: Int64 { outcomes.reduce(0) { $0 + $1.bytes } }

    public init() {}

    /// Adds what another part of the same run did (archives after folders).
    public mutating func merge(_ other: IngestSummary) {
        outcomes = (outcomes + other.outcomes).sorted { $0.path < $1.path }
        orphansRemoved += other.orphansRemoved
        seconds += other.seconds
        skipped.hidden += other.skipped.hidden
        skipped.systemFiles += other.skipped.systemFiles
        skipped.sidecars += other.skipped.sidecars
        skipped.excludedFiles += other.skipped.excludedFiles
        skipped.excludedFolders += other.skipped.excludedFolders
        skipped.notRegular += other.skipped.notRegular
        skipped.unreadable += other.skipped.unreadable
    }
}

/// `keepsake ingest`: discovers the files under the given folders and runs each through `FileJob` on a
/// bounded pool of worker threads.
public enum Ingest {
    /// Lists what would be ingested (for the progress bar's totals) without touching the library.
    private static let logger = Logger(label: "keepsake.ingest")

    private static func log(_ outcome: FileOutcome) {
        let metadata: Logger.Metadata = ["status": "\(outcome.status.rawValue)", "item": "\(outcome.itemId ?? "-")"]
        if outcome.isFailure {
            logger.notice("\(outcome.path): \(outcome.reason ?? "failed")", metadata: metadata)
        } else {
            logger.info("\(outcome.path)", metadata: metadata)
            for problem in outcome.notProduced { logger.notice("\(outcome.path): \(problem.reason)") }
        }
    }

    /// Groups a Live Photo's still and video into one unit (SPEC 4); every other file is a unit of its own. A file
    /// whose other half is an item an earlier run stored (`stored`, the library's single images and videos in the
    /// run's folders) is a unit that completes that item: a phone sync tool may copy the two minutes apart.
    static func pairLivePhotos(_ files: [AnalysedFile], stored: [LivePhotoHalf] = []) -> [IngestUnit] {
        // A stored item whose original is among this run's files (a re-hashed or changed file) is that file here.
        let paths = Set(files.map(\.file.path))
        let halves = stored.filter { !paths.contains($0.original.sourcePath) }
        let candidates = files.map { file in
            file.metadata.map { PairingCandidate(path: file.file.path.description, metadata: $0) }
                ?? PairingCandidate(path: file.file.path.description, kind: file.format.kind, contentIdentifier: nil, captureTime: nil, isScreenshot: false)
        } + halves.map(candidate)
        // A pair of two stored items is left as it is: only a file of this run completes an item.
        let pairs = LivePhotoPairing.pairs(candidates).filter { $0.still < files.count || $0.video < files.count }
        let paired = Set(pairs.flatMap { [$0.still, $0.video] })
        return pairs.map { pair in
            switch (pair.still < files.count, pair.video < files.count) {
            case (true, true): IngestUnit(files: [files[pair.still], files[pair.video]])
            case (true, false): IngestUnit(files: [files[pair.still]], completing: halves[pair.video - files.count])
            default: IngestUnit(files: [files[pair.video]], completing: halves[pair.still - files.count])
            }
        } + files.indices.filter { !paired.contains($0) }.map { IngestUnit(files: [files[$0]]) }
    }

    /// A stored item as pairing sees it, from its index row: its original's path, and the identifier and capture time
    /// its metadata holds.
    private static func candidate(_ half: LivePhotoHalf) -> PairingCandidate {
        let path = half.original.sourcePath.description
        guard let metadata = half.metadata else {
            return PairingCandidate(path: path, kind: half.item.type == .video ? .video : .image, contentIdentifier: nil,
                                    captureTime: nil, isScreenshot: false)
        }
        return PairingCandidate(path: path, metadata: metadata)
    }

    /// `exclude`: gitignore patterns rooted at each folder of `roots`, with the `.keepsakeignore` files under them.
    public static func discover(_ roots: [String], exclude: [String] = []) -> (files: [DiscoveredFile], skips: DiscoverySkips) {
        Discovery.walk(roots.map { BytePath($0) }, exclude: exclude)
    }

    /// Throws `IngestStopped` when a run-fatal error (the store unreachable or full, the index broken) stopped the
    /// run: files not yet started are left for the next run, not counted as failures.
    public static func run(files: [DiscoveredFile], skips: DiscoverySkips, library: Library, options: IngestOptions,
                           observer: any IngestObserver) throws -> IngestSummary {
        let start = ContinuousClock.now
        let (lock, orphans) = try library.lockForWriting(waitingUpTo: options.lockWait, onWait: { observer.waitingForLock(holder: $0) })
        defer { withExtendedLifetime(lock) {} }
        // Largest first: long videos start early and the small files fill the other workers around them.
        let outcomes = Mutex<[FileOutcome]>([])
        let report: @Sendable ([FileOutcome]) -> Void = { finished in
            for outcome in finished { log(outcome) }
            outcomes.withLock { $0 += finished }
            finished.forEach(observer.finished)
        }

        // What discovery could not read fails like any file, and is kept for `status` like every failure; what it
        // skipped as not a regular file is kept too, under its own stage.
        let unreadable = skips.unreadable.map { FileOutcome(path: $0.path, status: .failed, bytes: 0, reason: "cannot read: \($0.reason)") }
        for outcome in unreadable { try? library.index.recordFailure(path: outcome.path, stage: "discover", reason: outcome.reason ?? "") }
        for skip in skips.notRegular { try? library.index.recordFailure(path: skip.path, stage: FailedFileRecord.skippedStage, reason: skip.reason) }
        report(unreadable)

        // Phase 1: type and metadata of every file, so that Live Photos can pair before anything is stored.
        let analysed = Mutex<[AnalysedFile]>([])
        let known = options.rehash ? [:] : try library.index.knownSourceFiles()
        let librarySizes = try library.index.originalSizes()
        let early = EarlyPictures(librarySizes: librarySizes)
        let stop = RunStop()
        WorkerPool.run(files, workers: options.jobs) { file in
            guard !options.isCancelled(), !stop.isStopped else { return }
            observer.started(file)
            switch AnalyseJob(file: file, library: library, options: options, known: known, observer: observer, stop: stop,
                                early: early).run() {
            case .analysed(let result): analysed.withLock { $0.append(result) }
            case .done(let outcome): report([outcome])
            case .abandoned: break
            }
        }

        // Phase 2: store each unit, largest first, so long videos start early and small files fill in around them.
        let media = analysed.withLock { $0 }
        let folders = Set(media.filter { [.image, .video].contains($0.format.kind) }.map(\.file.path.parent))
        let units = pairLivePhotos(media, stored: try library.livePhotoHalves(inFolders: folders)).sorted {
            $0.size != $1.size ? $0.size > $1.size : $0.primary.file.path < $1.primary.file.path
        }
        // Sizes the library holds, and sizes two units of this run share: such a unit may be a copy, and is hashed first.
        let runSizes = units.flatMap { $0.files.map(\.source.size) }
        let sharedSizes = Set(Dictionary(grouping: runSizes, by: { $0 }).filter { $0.value.count > 1 }.keys)
        let knownSizes = KnownSizes(librarySizes.union(sharedSizes))
        let inFlight = InFlightHashes()
        // Small items are committed in groups (their objects made durable together), the last group before this returns;
        // a new item's files are reported once its group is committed.
        let uncommitted = UncommittedOutcomes(report: report)
        do {
            try library.groupingCommits(committed: uncommitted.committed) {
                WorkerPool.run(units, workers: options.jobs, capacity: options.streamMemoryBudget,
                               weight: { options.stream == nil ? 0 : $0.streamMemory }) { unit in
                    guard !options.isCancelled(), !stop.isStopped else { return }
                    unit.files.forEach { observer.started($0.file) }
                    uncommitted.report(StoreJob(unit: unit, library: library, options: options, observer: observer, stop: stop,
                                                knownSizes: knownSizes, inFlight: inFlight).run())
                }
                if let error = stop.error { throw error }
            }
            uncommitted.flush()
        } catch {
            _ = stop.stops(on: error)
            throw IngestStopped(cause: stop.error ?? LibraryError.corruptIndex("\(error)"), done: outcomes.withLock { $0.count }, total: files.count)
        }
        try library.checkpointIfDue()
        var summary = IngestSummary()
        summary.outcomes = outcomes.withLock { $0 }.sorted { $0.path < $1.path }
        summary.skipped = skips
        summary.orphansRemoved = orphans
        let elapsed = ContinuousClock.now - start
        summary.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return summary
    }
}

/// The outcomes of a grouped run's new items, held until their group is committed (a group that fails to commit ends
/// the run, and its files are then reported as neither stored nor failed: the next run stores them).
private final class UncommittedOutcomes: Sendable {
    private struct State {
        var waiting: [String: [FileOutcome]] = [:]
        /// Items committed before their job reported them.
        var committed: Set<String> = []
    }
    private let state = Mutex(State())
    private let reportNow: @Sendable ([FileOutcome]) -> Void

    init(report: @escaping @Sendable ([FileOutcome]) -> Void) { reportNow = report }

    func report(_ outcomes: [FileOutcome]) {
        let now = state.withLock { state in
            // A Live Photo's two files are one item.
            defer { outcomes.compactMap(\.itemId).forEach { state.committed.remove($0) } }
            return outcomes.filter { outcome in
                guard outcome.status == .stored, let id = outcome.itemId, !state.committed.contains(id) else { return true }
                state.waiting[id, default: []].append(outcome)
                return false
            }
        }
        reportNow(now)
    }

    /// Once the grouped run has returned, every item it stored is committed.
    func flush() {
        reportNow(state.withLock { state in
            defer { state.waiting = [:] }
            return state.waiting.values.flatMap { $0 }
        })
    }

    func committed(_ ids: [String]) {
        let now = state.withLock { state in
            ids.flatMap { id in
                guard let waiting = state.waiting.removeValue(forKey: id) else {
                    state.committed.insert(id)
                    return [FileOutcome]()
                }
                return waiting
            }
        }
        reportNow(now)
    }
}
