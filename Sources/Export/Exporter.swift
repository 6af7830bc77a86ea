import FileSystem
import Foundation
import KeepsakeCrypto
import Store
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `keepsake export` (SPEC 7): decrypts the library into one folder per album, originals bit-exact beside
/// Google Takeout sidecars, incrementally and so that a run killed at any point resumes without partial or
/// duplicated files.
public struct Exporter: Sendable {
    static let uncategorizedFolder = "Uncategorized"

    let library: Library
    let options: ExportOptions
    let observer: any ExportObserver

    public init(library: Library, options: ExportOptions, observer: any ExportObserver) {
        self.library = library
        self.options = options
        self.observer = observer
    }

    public func run() throws -> ExportSummary {
        try run(planning: ExportPlan.files)
    }

    /// The export of what `planning` says the library holds (tests plan names of their own through it).
    func run(planning: (Library, String?) throws -> [PlannedFile]) throws -> ExportSummary {
        let start = ContinuousClock.now
        let target = options.target
        do { try DurableFile.makeDirectory(BytePath(target)) } catch {
            if case .io(_, _, let code) = error { throw ExportError.targetUnusable(path: target, errno: code) }
            throw error
        }
        let lock = try ExportLock(folder: target)
        defer { withExtendedLifetime(lock) {} }

        let (state, log) = try ExportLog.open(in: target)
        var folder = ExportFolder(target: target, state: state, fileSystem: options.fileSystem ?? TargetFileSystem.of(target))
        var summary = ExportSummary()
        summary.fileSystem = folder.fileSystem.name
        summary.partialsRemoved = try folder.removePartials()
        let planned = try planning(library, options.album)
        if let album = options.album, planned.isEmpty, !folder.state.files.contains(where: { $0.key.album == album }) {
            throw ExportError.noSuchAlbum(album)
        }
        summary.outcomes += try moveGoneFilesToTrash(keeping: Set(planned.map(\.key)), in: &folder, log: log)
        summary.outcomes += restoreMissingSidecars(of: planned, in: folder)

        let todo = planned.filter { !folder.isInPlace($0.key) }
        summary.alreadyExported = planned.count - todo.count
        observer.planned(files: todo.count, bytes: todo.reduce(0) { $0 + $1.original.size })
        // New albums get their folders in a fixed order, Uncategorized first, so clashes resolve the same way every run.
        let newAlbums = Set(todo.map(\.key.album))
        let inOrder: [String?] = (newAlbums.contains(nil) ? [nil] : []) + newAlbums.compactMap { $0 }.sorted().map(Optional.some)
        for album in inOrder {
            guard let (assigned, rename) = folder.assignFolder(to: album) else { continue }
            try log.append(.assigned(assigned))
            if let rename { summary.renamed.append(rename) }
        }

        let shared = SharedExportFolder(folder, log: log)
        let (outcomes, renamed, stop) = exportAll(todo, into: shared)
        if let stop { throw stop }
        try log.compact(shared.state)
        summary.outcomes += outcomes
        summary.renamed += renamed.sorted { $0.written < $1.written }
        summary.bytesWritten = outcomes.filter { $0.status == .exported }.reduce(0) { $0 + $1.bytes }
        let elapsed = ContinuousClock.now - start
        summary.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return summary
    }

    /// Moves what an earlier run exported but the library no longer has there (within this run's albums) to Trash.
    private func moveGoneFilesToTrash(keeping wanted: Set<ExportKey>, in folder: inout ExportFolder,
                                      log: ExportLog) throws(ExportError) -> [ExportOutcome] {
        var outcomes: [ExportOutcome] = []
        for gone in folder.state.files where inScope(gone.key) && !wanted.contains(gone.key) {
            let moved = try folder.moveToTrash(gone)
            try log.append(.forgotten(gone.key))
            guard let outcome = moved else { continue }
            outcomes.append(outcome)
            observer.reported(outcome)
        }
        return outcomes
    }

    /// Writes again the sidecars of exported files that lost theirs.
    private func restoreMissingSidecars(of planned: [PlannedFile], in folder: ExportFolder) -> [ExportOutcome] {
        var failures: [ExportOutcome] = []
        for file in planned where folder.lacksSidecar(file.key) {
            guard let path = folder.recordedPath(of: file.key) else { continue }
            do {
                try DurableFile.write(sidecar(for: file, source: sidecarSource(of: file)), to: folder.paths.sidecar(of: path))
            } catch {
                let outcome = ExportOutcome(path: path.description, itemId: file.item.id, album: file.key.album, status: .failed,
                                            bytes: 0, reason: "\(error)")
                failures.append(outcome)
                observer.reported(outcome)
            }
        }
        return failures
    }

    private func inScope(_ key: ExportKey) -> Bool {
        options.album == nil || key.album == options.album
    }

    /// Exports `files` on `options.jobs` threads (the work is mostly waiting for fsync, which overlaps well).
    /// Files are placed (named) one at a time in `files`' order, as in every run, so that a rerun gives the files
    /// a killed run left unrecorded the same names and adopts them. Stops taking new files when a file cannot be
    /// recorded, and returns that error. Also returns the names of the files put in place that differ from the originals'.
    private func exportAll(_ files: [PlannedFile], into folder: SharedExportFolder) -> ([ExportOutcome], [ExportRename], ExportError?) {
        struct Progress {
            var next = 0
            var outcomes: [ExportOutcome] = []
            var renamed: [ExportRename] = []
            var stop: ExportError?
        }
        let progress = Mutex(Progress())
        DispatchQueue.concurrentPerform(iterations: max(1, min(options.jobs, files.count))) { _ in
            while let (file, placement) = progress.withLock({ progress -> (PlannedFile, Result<ExportFolder.Placement, ExportError>)? in
                guard progress.stop == nil, progress.next < files.count else { return nil }
                let file = files[progress.next]
                progress.next += 1
                return (file, Result { () throws(ExportError) in try folder.place(file) })
            }) {
                do throws(ExportError) {
                    let outcome = try export(file, placement: placement, into: folder)
                    progress.withLock {
                        $0.outcomes.append(outcome)
                        if outcome.status != .failed, case .success(let place) = placement, let rename = place.rename {
                            $0.renamed.append(rename)
                        }
                    }
                    observer.finished(outcome)
                } catch {
                    progress.withLock { $0.stop = error }
                }
            }
        }
        return progress.withLock { ($0.outcomes, $0.renamed, $0.stop) }
    }

    /// Exports one file to its place and records it; a failure of the file is its outcome and leaves nothing in
    /// place, a failure to record it is thrown.
    private func export(_ file: PlannedFile, placement placed: Result<ExportFolder.Placement, ExportError>,
                        into folder: SharedExportFolder) throws(ExportError) -> ExportOutcome {
        var outcome = ExportOutcome(path: "", itemId: file.item.id, album: file.key.album, status: .exported,
                                    bytes: file.original.size)
        let placement: ExportFolder.Placement
        switch placed {
        case .success(let place): placement = place
        case .failure(let error):
            outcome.status = .failed
            outcome.reason = "\(error)"
            return outcome
        }
        outcome.path = placement.relativePath.description
        observer.started(exporting: outcome.path)
        do {
            let source = sidecarSource(of: file)
            if placement.adopted {
                outcome.status = .adopted
                observer.wrote(bytes: file.original.size)
            } else {
                try OriginalWriter(library: library).write(file.original, key: library.fileKey(of: file.item.id),
                                                           to: folder.paths.absolute(placement.relativePath),
                                                           modified: source?.captureTime?.instant) {
                    observer.wrote(bytes: $0)
                }
            }
            try DurableFile.write(sidecar(for: file, source: source), to: folder.paths.sidecar(of: placement.relativePath))
        } catch {
            folder.release(placement, of: file.key)
            outcome.status = .failed
            outcome.reason = "\(error)"
            return outcome
        }
        try folder.record(ExportState.File(key: file.key, path: placement.relativePath, size: file.original.size,
                                           blake2b: file.original.blake2b))
        return outcome
    }

    private func sidecar(for file: PlannedFile, source: SidecarSource?) -> Data {
        TakeoutSidecar(title: PortableName.title(file.name), photoTaken: source?.captureTime?.instant,
                       creation: Instant(seconds: Int64(file.item.createdAt.timeIntervalSince1970)),
                       location: source?.location).encoded()
    }

    /// The capture time and place for `file`'s sidecar. A Live Photo's video has its own, kept in the item's
    /// encrypted metadata document; the index holds the still's.
    private func sidecarSource(of file: PlannedFile) -> SidecarSource? {
        let decoder = JSONDecoder()
        if file.item.type == .livePhoto, file.original.role == "video", let object = file.item.metadataObject,
           let document = try? readSmallObject(object, itemId: file.item.id),
           let video = try? decoder.decode(LivePhotoDocument.self, from: document).videoMetadata {
            return video
        }
        return file.item.metadataJSON.flatMap { try? decoder.decode(SidecarSource.self, from: Data($0.utf8)) }
    }

    private func readSmallObject(_ name: String, itemId: String) throws -> Data {
        var data = Data()
        try library.readDecrypted(ObjectName(name), key: library.fileKey(of: itemId)) { data.append(contentsOf: $0) }
        return data
    }

    /// The part of an item's metadata document that holds a Live Photo video's own metadata.
    private struct LivePhotoDocument: Decodable {
        var videoMetadata: SidecarSource?
    }
}

/// An exclusive `flock` on the export folder, so that two exports never write into it at once.
final class ExportLock {
    static let fileName = ".keepsake-export.lock"
    private let fd: Int32

    init(folder: String) throws(ExportError) {
        let path = folder + "/" + Self.fileName
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .targetUnusable(path: folder, errno: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw .targetLocked(folder)
        }
    }

    deinit { close(fd) }
}
