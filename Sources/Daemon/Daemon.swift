import FileSystem
import Foundation
import Logging
import MediaTypes
import MediaWorker
import Pipeline
import Store
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `keepsake daemon` (SPEC 8): rescans the watched folders at start, then follows them with inotify. Files are
/// taken once they have stopped growing, in batches through the ingest pipeline, with the media work in worker
/// processes. The library's writer lock is held only while a batch writes, so a manual `ingest` can run between
/// batches; the daemon waits for it in turn.
public final class Daemon {
    public struct Configuration: Sendable {
        public var jobs: Int
        /// Nil: videos get no stream.
        public var stream: StreamOptions?
        /// A file is taken when it has not been written for this long.
        public var settleTime: Duration = .seconds(2)
        /// How long files that are ready wait for others still being written, to go in the same batch.
        public var batchWindow: Duration = .seconds(5)
        /// At most this many files go through one run of the pipeline, so that a manual `ingest` gets the library
        /// between two runs even during a long rescan.
        public var maximumBatch = 500
        /// How often the index is brought up to date with what other machines wrote into the store.
        public var pullInterval: Duration = .seconds(60)
        /// Runs after each pull, the writer lock free (`keepsake daemon` takes the uploads of collect links there).
        public var afterPull: (@Sendable () -> Void)?
        /// `--export-to`: the folder `keepsake export` keeps, brought up to date after every batch and pull.
        public var exportTarget: String?
        public init(jobs: Int, stream: StreamOptions?) {
            self.jobs = jobs
            self.stream = stream
        }
    }

    private let library: Library
    private let configuration: Configuration
    private let shouldStop: @Sendable () -> Bool
    private let mediaWork: OutOfProcessMediaWork
    private let board: DaemonStateBoard
    private let notifier: SystemdNotifier?
    private let watcher: FolderWatcher
    private var watches: [WatchRecord] = []
    /// How each watched folder is followed, as last found (its file system can change: a share mounted on it).
    private var methods: [String: WatchMethod] = [:]
    /// The folders followed by rescans: when the next is due, and what the last one saw of each file.
    private var polls: [String: (next: ContinuousClock.Instant, stamps: [String: FileStamp])] = [:]
    /// Watches whose folder was scanned once since the daemon started (or since it came back): said at notice level.
    private var announced = Set<String>()
    /// Watched folders that could not be read (an unmounted disk?): tried again at every reload.
    private var unreachable = Set<String>()
    private var settling = SettlingFiles()
    /// Files that have settled, waiting for the next batch (or for the writer lock).
    private var ready: [String: ContinuousClock.Instant] = [:]
    /// Paths deleted or moved out, to take out of their albums.
    private var removed = Set<String>()
    /// Earlier versions of files whose content changed, by path, to take out of their albums.
    private var replaced: [(path: String, itemId: String)] = []
    /// Worker failures per file: one retry in a fresh worker, then quarantine.
    private var failureCounts: [String: Int] = [:]
    private var lastWatchReload = ContinuousClock.now
    private var lastPull = ContinuousClock.now
    /// While the store cannot be used (unreachable, full, refusing us): when to try the next batch, and the wait after it.
    private var outage: (retryAt: ContinuousClock.Instant, backoff: Duration)?
    private var export: ContinuousExport?
    private static let maximumOutageBackoff: Duration = .seconds(60)
    private static let logger = Logger(label: "keepsake.daemon")
    private static let maximumWorkerFailures = 2

    /// `mediaWork` should give up on its workers once `shouldStop` holds, as the daemon does on its files.
    /// `notifier`: systemd (`Type=notify`) hears READY=1 once the watched folders are scanned, then a STATUS line
    /// whenever `daemon-state.json` is written.
    public init(library: Library, configuration: Configuration, mediaWork: OutOfProcessMediaWork,
                notifier: SystemdNotifier? = nil, shouldStop: @escaping @Sendable () -> Bool) throws {
        self.library = library
        self.configuration = configuration
        self.shouldStop = shouldStop
        self.mediaWork = mediaWork
        self.notifier = notifier
        board = DaemonStateBoard(library: library.path, notifier: notifier)
        export = configuration.exportTarget.map { ContinuousExport(target: $0, library: library) }
        watcher = try FolderWatcher()
    }

    /// Runs until `shouldStop` says so; what is in flight then is finished, what is not started is left for the
    /// rescan of the next start.
    public func run() throws {
        defer {
            mediaWork.shutDown()
            board.remove()
        }
        try reloadWatches()
        notifier?.ready(status: board.summary)
        while !shouldStop() {
            let events = try watcher.next(timeout: settling.isEmpty ? .seconds(1) : .milliseconds(250))
            for event in events { try handle(event) }
            if ContinuousClock.now - lastWatchReload > .seconds(5) { try reloadWatches() }
            for watch in watches where polls[watch.path].map({ ContinuousClock.now >= $0.next }) ?? false { try rescan(watch) }
            for path in settling.settled(after: configuration.settleTime) where ready[path] == nil { ready[path] = .now }
            board.update { $0.queued = self.settling.count + self.ready.count }
            let oldestReady = ready.values.min()
            let batchDue = oldestReady.map { settling.isEmpty || ContinuousClock.now - $0 > configuration.batchWindow } ?? false
            let storeUsable = outage.map { ContinuousClock.now >= $0.retryAt } ?? true
            if (batchDue || !removed.isEmpty || !replaced.isEmpty) && storeUsable && !shouldStop() {
                try runBatch()
                pull()
            }
            if ContinuousClock.now - lastPull >= configuration.pullInterval && storeUsable && !shouldStop() { pull() }
            if outage == nil && !shouldStop() { export?.runIfDue() }
        }
        Self.logger.notice("stopping: \(settling.count + ready.count) files left for the next start")
    }

    // MARK: Watches and events

    /// Picks up `watch add` and `watch remove` made while the daemon runs; a new or changed watch is rescanned, and
    /// so is one whose file system changed (a NAS mounted on the folder after the daemon started: rescans from now).
    private func reloadWatches() throws {
        lastWatchReload = .now
        let current = try library.index.watches()
        var rescans: [WatchRecord] = []
        for watch in current {
            let method = WatchMethod(of: watch)
            if !watches.contains(watch) || methods[watch.path] != method {
                announced.remove(watch.path)
                rescans.append(watch)
            } else if unreachable.contains(watch.path) {
                rescans.append(watch)
            }
            methods[watch.path] = method
        }
        for gone in watches where !current.contains(where: { $0.path == gone.path }) {
            watcher.unwatchTree(gone.path)
            methods[gone.path] = nil
            polls[gone.path] = nil
            announced.remove(gone.path)
            Self.logger.notice("no longer watching \(gone.path)")
        }
        let changed = current != watches
        watches = current
        for watch in rescans { try rescan(watch) }
        if changed || !rescans.isEmpty {
            board.update(force: true) { state in
                state.watching = current.map(\.path)
                state.rescans = state.rescans.filter { path, _ in current.contains { $0.path == path } }
            }
        }
    }

    /// Everything under `watch` goes through the settling check (the fast path makes unchanged files cheap), and
    /// files ingested from it that are gone count as removed. A folder followed by rescans is only listed, and what
    /// is unchanged since its ingest or the last rescan is left out: a rescan of an unchanged folder reads no file.
    private func rescan(_ watch: WatchRecord) throws {
        watcher.unwatchTree(watch.path)
        let method = methods[watch.path] ?? WatchMethod(of: watch)
        var found: [FolderEvent]
        do {
            switch method {
            case .inotify:
                polls[watch.path] = nil
                found = try watcher.watchTree(watch.path)
            case .rescan(let seconds, _):
                polls[watch.path] = (ContinuousClock.now + .seconds(seconds), polls[watch.path]?.stamps ?? [:])
                found = try FolderWatcher.scanTree(watch.path)
            }
        } catch let error as WatcherError {
            if unreachable.insert(watch.path).inserted { Self.logger.error("\(error); trying again every few seconds") }
            return
        }
        let firstLook = unreachable.remove(watch.path) != nil || !announced.contains(watch.path)
        let known = try library.index.sourceFiles(under: watch.path)
        let listed = found
        if case .rescan = method {
            // The first look goes whole through the ingest fast path (which reads no unchanged file either), as an
            // inotify watch's does, so that an unchanged file still joins the watch's album.
            let changed = changedSinceLastLook(found, in: watch, known: known)
            if !firstLook { found = changed }
        }
        if firstLook {
            announced.insert(watch.path)
            let excluded = found.filter { event in
                if case .changed(let path) = event { isExcluded(path, by: watch) } else { false }
            }.count
            let exclusions = excluded > 0 ? ", \(excluded) files excluded" : ""
            Self.logger.notice("watching \(watch.path) (\(watch.mode.rawValue), \(method.description))\(exclusions)")
        } else {
            Self.logger.info("rescanned \(watch.path): \(listed.count) files, \(found.count) new or changed")
        }
        if case .rescan = method { board.update(force: true) { $0.rescans[watch.path] = Date() } }
        for event in found { try handle(event) }
        let gone = known.filter { isGone($0.path.lossyText) }
        // An empty mount point looks like a folder whose files were all deleted: that is not taken for a deletion.
        guard !listed.isEmpty || gone.count < known.count || known.isEmpty else {
            Self.logger.warning("\(watch.path): none of its \(known.count) known files is there; is a disk unmounted? Nothing leaves its album")
            return
        }
        removed.formUnion(gone.map(\.path.lossyText))
    }

    private func handle(_ event: FolderEvent) throws {
        switch event {
        case .changed(let path):
            guard let watch = watch(of: path), !isExcluded(path, by: watch), try !isQuarantined(path) else { return }
            ready[path] = nil
            settling.observe(path)
        case .removed(let path):
            settling.forget(path)
            ready = ready.filter { $0.key != path && !$0.key.hasPrefix(path + "/") }
            let sources = try library.index.sourceFiles(under: path).map(\.path.lossyText) + [path]
            removed.formUnion(sources)
        case .overflow:
            Self.logger.warning("inotify dropped events; rescanning every watched folder")
            for watch in watches { try rescan(watch) }
        }
    }

    /// The files of a rescan that are new or changed: the others match their last ingest (path, size, mtime, inode:
    /// the fast path's test) or were already seen so at the last rescan (a file that failed is not taken again until
    /// it changes). Only `stat`s: no file is read.
    private func changedSinceLastLook(_ found: [FolderEvent], in watch: WatchRecord, known: [SourceFileRecord]) -> [FolderEvent] {
        let ingested = Dictionary(known.map { ($0.path.lossyText, FileStamp(size: $0.size, mtimeNanoseconds: $0.mtimeNanoseconds, inode: $0.inode)) }) { a, _ in a }
        let previous = polls[watch.path]?.stamps ?? [:]
        var stamps: [String: FileStamp] = [:]
        let changed = found.filter { event in
            guard case .changed(let path) = event else { return true }
            var info = stat()
            guard stat(path, &info) == 0 else { return false }
            let stamp = FileStamp(size: Int64(info.st_size), mtimeNanoseconds: info.st_mtim.nanoseconds, inode: Int64(info.st_ino))
            stamps[path] = stamp
            return ingested[path] != stamp && previous[path] != stamp
        }
        polls[watch.path]?.stamps = stamps
        return changed
    }

    private func watch(of path: String) -> WatchRecord? {
        watches.filter { $0.contains(path) }.max { $0.path.count < $1.path.count }
    }

    /// Left out by the watch's `--exclude` patterns or a `.keepsakeignore` on the way down (read afresh, so an edit
    /// applies to the next file seen).
    private func isExcluded(_ path: String, by watch: WatchRecord) -> Bool {
        Exclusions.excludes(BytePath(path), under: BytePath(watch.path), patterns: watch.exclude)
    }

    /// A quarantined file stays out until its size or mtime changes.
    private func isQuarantined(_ path: String) throws -> Bool {
        guard let record = try library.index.quarantinedFiles().first(where: { $0.path == path }) else { return false }
        var info = stat()
        if stat(path, &info) == 0, Int64(info.st_size) == record.size, info.st_mtim.nanoseconds == record.mtimeNanoseconds {
            return true
        }
        try library.index.releaseFromQuarantine(path: path)
        return false
    }

    /// Brings the index up to date with other machines' changes (and pushes edits queued while the store was away).
    /// The export, if any, follows: a pull comes after every batch, and brings what other machines stored (and what
    /// another process, a manual `ingest`, wrote meanwhile).
    private func pull() {
        lastPull = .now
        export?.libraryChanged()
        do {
            let report = try library.sync()
            if report.applied > 0 { Self.logger.info("pulled \(report.applied) changes from other machines") }
            for problem in report.problems { Self.logger.warning("\(problem.object): \(problem.reason)") }
            let shares = try library.syncShares()
            if shares.taken > 0 { Self.logger.info("took \(shares.taken) items collaborators added to shared albums") }
            for problem in shares.problems { Self.logger.warning("shared albums: \(problem)") }
        } catch {
            Self.logger.info("cannot pull from the store now: \(error)")
            return
        }
        configuration.afterPull?()
    }

    // MARK: Batches

    private func runBatch() throws {
        // By path, so that a Live Photo's two files, side by side in one folder, go into the same run.
        let paths = Array(ready.keys.sorted().prefix(configuration.maximumBatch))
        for path in paths { ready[path] = nil }
        board.update(force: true) { state in
            state.lastBatch = Date()
            state.queued = self.settling.count + self.ready.count
        }
        var later: [String] = []
        var locked = false
        do {
            for (watchPath, files) in Dictionary(grouping: paths, by: { watch(of: $0)?.path }) {
                guard let watchPath, let watch = watches.first(where: { $0.path == watchPath }) else { continue }
                if locked {
                    later += files
                } else if let retry = try ingest(files, from: watch) {
                    later += retry
                } else {
                    later += files
                    locked = true
                }
            }
            if !locked { try updateAlbumsOfDepartedFiles() }
            if outage != nil {
                Self.logger.notice("the store is usable again")
                outage = nil
                board.update(force: true) { $0.waitingForStore = nil }
            }
        } catch let error as any KeepsakeError where Self.isStoreOutage(error) {
            // The whole batch waits for the store (the files done are unchanged and cheap to take again).
            waitForStore(error)
            later = paths
        }
        for path in later { ready[path] = ready[path] ?? .now }
        mediaWork.shutDown()  // the zygote would hold its memory until the next batch
        board.update(force: true) { $0.queued = self.settling.count + self.ready.count }
    }

    /// A store that is unreachable, full or refusing us may come back; a broken index or a wrong passphrase does not,
    /// so that still ends the daemon.
    private static func isStoreOutage(_ error: any KeepsakeError) -> Bool {
        guard error.isRunFatal else { return false }
        let cause = (error as? IngestStopped)?.cause ?? error
        if cause is StoreError { return true }
        if case .store? = cause as? LibraryError { return true }
        return false
    }

    /// The store cannot be used: said once, then the batch is tried again after a wait that doubles up to a minute.
    private func waitForStore(_ error: any KeepsakeError) {
        let backoff = outage.map { min($0.backoff * 2, Self.maximumOutageBackoff) } ?? .seconds(5)
        board.update(force: true) { $0.waitingForStore = error.message }
        if outage == nil {
            Self.logger.error("\(error.message); waiting for the store, trying again every minute at most")
        } else {
            Self.logger.info("the store is still unusable: \(error.message)")
        }
        outage = (ContinuousClock.now + backoff, backoff)
    }

    /// Ingests `paths` into the album of `watch`. Returns the paths a worker failed on once, to retry in a fresh
    /// worker; nil when another process holds the library, so that the whole batch waits.
    private func ingest(_ paths: [String], from watch: WatchRecord) throws -> [String]? {
        let previousItems = Dictionary(uniqueKeysWithValues: try paths.compactMap { path in
            try library.index.sourceFile(at: BytePath(path)).map { (path, $0.itemId) }
        })
        let (files, skips) = Ingest.discover(paths.filter { access($0, F_OK) == 0 })
        let options = IngestOptions(albumMode: watch.albumMode, jobs: configuration.jobs, stream: configuration.stream,
                                    mediaWork: mediaWork, lockWait: .seconds(1), isCancelled: shouldStop)
        let summary: IngestSummary
        do {
            summary = try Ingest.run(files: files, skips: skips, library: library, options: options, observer: board)
        } catch LibraryError.locked {
            Self.logger.info("another keepsake process is writing to the library; the batch waits for it")
            return nil
        }
        Self.logger.notice("batch from \(watch.path): \(summary.outcomes.count) files, \(summary.count(.stored)) stored, \(summary.failures.count) failed")
        var retry: [String] = []
        let workerFailures = mediaWork.takeWorkerFailures()
        // Workers killed along with the daemon (Ctrl-C, systemd) are not the files' fault.
        for (bytes, reason) in shouldStop() ? [:] : workerFailures {
            let path = bytes.lossyText
            failureCounts[path, default: 0] += 1
            if failureCounts[path]! < Self.maximumWorkerFailures {
                retry.append(path)
                continue
            }
            failureCounts[path] = nil
            var info = stat()
            guard stat(path, &info) == 0 else { continue }
            try library.index.quarantine(QuarantinedFileRecord(path: path, size: Int64(info.st_size),
                                                               mtimeNanoseconds: info.st_mtim.nanoseconds,
                                                               reason: "\(reason) (twice; quarantined until the file changes)"))
            Self.logger.warning("\(path): quarantined: \(reason)")
        }
        for outcome in summary.outcomes where !outcome.isFailure {
            let path = outcome.path.lossyText
            failureCounts[path] = nil
            // The file's content changed: its earlier version leaves the album, as a deleted file would.
            if let previous = previousItems[path], let current = outcome.itemId, previous != current {
                replaced.append((path, previous))
            }
        }
        return retry
    }

    /// Takes the items of deleted files, and the earlier versions of changed ones, out of their albums; under the
    /// writer lock, since each move is a journal entry in the store.
    private func updateAlbumsOfDepartedFiles() throws {
        guard !removed.isEmpty || !replaced.isEmpty else { return }
        let lock: WriterLock
        do {
            lock = try library.lockForWriting(waitingUpTo: .seconds(1)).lock
        } catch LibraryError.locked {
            return
        }
        defer { withExtendedLifetime(lock) {} }
        for (path, itemId) in replaced {
            guard let watch = watch(of: path) else { continue }
            try leaveAlbum(itemId: itemId, path: path, watch: watch, because: "replaced by a new version")
        }
        replaced = []
        for path in removed.sorted() where isGone(path) {
            guard let watch = watch(of: path), let source = try library.index.sourceFile(at: BytePath(path)) else { continue }
            try leaveAlbum(itemId: source.itemId, path: path, watch: watch, because: "gone from the folder")
            try library.index.forgetSourceFile(path: path)
        }
        removed = []
    }

    /// Takes `itemId` out of the album `path` put it in, unless another file of the same album still holds it.
    private func leaveAlbum(itemId: String, path: String, watch: WatchRecord, because reason: String) throws {
        let album = watch.albumName(for: path)
        let stillThere = try library.index.sourceFiles(ofItem: itemId).map(\.path.lossyText).contains { other in
            other != path && self.watch(of: other)?.albumName(for: other) == album && !isGone(other)
        }
        if !stillThere, try library.moveOutOfAlbum(itemId: itemId, albumName: album) {
            Self.logger.notice("\(path): \(reason); its item \(itemId) left the album \(album)")
        }
    }
}

/// True when nothing is at `path` (not when it cannot be reached, which says nothing of its deletion).
private func isGone(_ path: String) -> Bool {
    access(path, F_OK) != 0 && errno == ENOENT
}

/// What `stat` says of a file, to know it unchanged without reading it.
struct FileStamp: Equatable {
    var size: Int64
    var mtimeNanoseconds: Int64
    var inode: Int64
}

/// Files seen changing, until they have not been written for the settle time.
struct SettlingFiles {
    private var sizes: [String: Int64?] = [:]

    var isEmpty: Bool { sizes.isEmpty }
    var count: Int { sizes.count }

    mutating func observe(_ path: String) {
        if sizes[path] == nil { sizes[path] = .some(nil) }
    }

    mutating func forget(_ path: String) {
        sizes = sizes.filter { $0.key != path && !$0.key.hasPrefix(path + "/") }
    }

    /// The files whose mtime is older than `settleTime` and whose size has not changed since the last look;
    /// they are no longer followed. Files that vanished are dropped.
    mutating func settled(after settleTime: Duration) -> [String] {
        let now = Date().timeIntervalSince1970
        let settle = Double(settleTime.components.seconds) + Double(settleTime.components.attoseconds) / 1e18
        var result: [String] = []
        for (path, lastSize) in sizes {
            var info = stat()
            guard stat(path, &info) == 0 else {
                sizes[path] = nil
                continue
            }
            let mtime = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
            let size = Int64(info.st_size)
            if now - mtime >= settle && (lastSize == nil || lastSize == size) {
                result.append(path)
                sizes[path] = nil
            } else {
                sizes[path] = .some(size)
            }
        }
        return result
    }
}

extension WatchRecord {
    var albumMode: IngestOptions.AlbumMode {
        switch mode {
        case .single: .named(albumName(for: path + "/file"))
        case .separate: .perFolder
        }
    }

    /// The album `file` goes into (SPEC 8).
    func albumName(for file: String) -> String {
        switch mode {
        case .single: (path as NSString).lastPathComponent
        case .separate: ((file as NSString).deletingLastPathComponent as NSString).lastPathComponent
        }
    }
}

extension timespec {
    var nanoseconds: Int64 { Int64(tv_sec) * 1_000_000_000 + Int64(tv_nsec) }
}
