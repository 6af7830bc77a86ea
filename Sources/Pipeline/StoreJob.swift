import Foundation
import KeepsakeCrypto
import MediaTypes
import Store
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One library item to store: a single file, or a Live Photo's still and video (in that order), or the half of a
/// Live Photo whose other half an earlier run stored as an item of its own (`completing`).
struct IngestUnit: Sendable {
    var files: [AnalysedFile]
    var completing: LivePhotoHalf? = nil
    var isLivePhoto: Bool { files.count == 2 || completing != nil }
    var size: Int64 { files.reduce(0) { $0 + $1.source.size } }
    var primary: AnalysedFile { files[0] }
    var video: AnalysedFile? { files.first { $0.format.kind == .video } }

    /// About how much memory transcoding its video holds (as for 4K when the size is unknown: a motion photo's embedded
    /// video); 0 without a video.
    var streamMemory: Int {
        guard let video else { return primary.metadata?.motionPhoto == nil ? 0 : StreamOptions.estimatedMemory(width: 3840, height: 2160) }
        guard let width = video.metadata?.width, let height = video.metadata?.height, width > 0, height > 0 else {
            return StreamOptions.estimatedMemory(width: 3840, height: 2160)
        }
        return StreamOptions.estimatedMemory(width: width, height: height)
    }
}

extension LivePhotoHalf {
    /// The metadata its run read, as the item's index row keeps it.
    var metadata: MediaMetadata? { item.metadata }
}

/// The sizes of the originals the library holds, and of those this run stored: a file of another size is no copy.
final class KnownSizes: Sendable {
    private let sizes: Mutex<Set<Int64>>
    init(_ sizes: Set<Int64>) { self.sizes = Mutex(sizes) }
    func containsAll(_ wanted: [Int64]) -> Bool { sizes.withLock { known in wanted.allSatisfy(known.contains) } }
    func insert(_ new: [Int64]) { sizes.withLock { $0.formUnion(new) } }
}

/// The content hashes being stored by this run at the moment: a unit with the same bytes as one in flight waits for it
/// to commit, and is then a duplicate (so two copies in one run are encrypted and uploaded once).
final class InFlightHashes: @unchecked Sendable {
    private let condition = NSCondition()
    private var claimed: Set<String> = []

    /// True when this caller now stores `hash`; false after waiting for another that stored it (or gave up on it).
    func claim(_ hash: String) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard claimed.contains(hash) else {
            claimed.insert(hash)
            return true
        }
        while claimed.contains(hash) { condition.wait() }
        return false
    }

    func release(_ hash: String) {
        condition.lock()
        claimed.remove(hash)
        condition.broadcast()
        condition.unlock()
    }
}

/// The second phase of a unit: hashes and encrypts each original in one read pass (while a worker makes the
/// pictures, `MediaStages`), deduplicates, produces the derived media and commits the item, last of all.
struct StoreJob {
    let unit: IngestUnit
    let library: Library
    let options: IngestOptions
    let observer: any IngestObserver
    let stop: RunStop
    let knownSizes: KnownSizes
    let inFlight: InFlightHashes

    private static let readSize = 1 << 20

    /// The unit's outcomes; none when a run-fatal error abandoned it (the run then stops).
    func run() -> [FileOutcome] {
        do {
            return try store()
        } catch where stop.stops(on: error) {
            return []
        } catch {
            let reason = if case JobStop.failed(let why) = error { why } else { "\(error)" }
            return unit.files.map { analysed in
                try? library.index.recordFailure(path: analysed.file.path, stage: "store", reason: reason)
                return FileOutcome(path: analysed.file.path, status: .failed, bytes: analysed.source.size, reason: reason)
            }
        }
    }

    private func store() throws -> [FileOutcome] {
        let upload = try unit.completing.map(library.beginUpload(completing:)) ?? library.beginUpload()
        let album = options.album(for: unit.primary.file)
        var claim: String?
        defer { claim.map(inFlight.release) }
        do {
            if let existing = try resolveBeforeUpload(upload: upload, album: album, claim: &claim) {
                return outcomes(existing, type: nil, problems: [])
            }
            // The unit is new: a worker makes its pictures while its originals go up.
            let stages = MediaStages(upload: upload, options: options, unit: unit)
            defer { stages.finish() }
            var originals: [OriginalRecord] = []
            for analysed in unit.files {
                let role = !unit.isLivePhoto ? "main" : analysed.format.kind == .video ? "video" : "still"
                let (name, hash) = try storeOriginal(analysed, role: ObjectRole(original: role), upload: upload)
                originals.append(OriginalRecord(itemId: "", role: role, name: analysed.file.path.lastComponent,
                                                sourcePath: analysed.file.path, size: analysed.source.size, blake2b: hash,
                                                mimeType: analysed.format.mimeType, objectName: name.path))
            }
            if let half = unit.completing {
                // The earlier half's original, as stored: the still comes first.
                var original = half.original
                original.id = nil
                original.itemId = ""
                original.role = half.item.type == .video ? "video" : "still"
                originals.insert(original, at: original.role == "still" ? 0 : originals.count)
            }
            let dedupHash = originals.map(\.blake2b).joined(separator: ":")
            let sources = unit.files.map(\.source)
            if let existing = try upload.resolveExisting(hash: dedupHash, album: album, sourceFiles: sources,
                                                         reuploadDeleted: options.reuploadDeleted) {
                return outcomes(existing, type: nil, problems: [])
            }
            let type: ItemType = unit.isLivePhoto ? .livePhoto : unit.primary.format.kind == .video ? .video : .image
            var item = NewItem(type: type, dedupHash: dedupHash, fileKey: upload.fileKey, originals: originals)
            item.sourceFiles = sources
            try stages.produce(for: &item)
            let committed = try upload.commit(item, album: album)
            knownSizes.insert(unit.files.map(\.source.size))
            return outcomes(committed, type: item.type, problems: item.stageProblems)
        } catch {
            // After a run-fatal error the store cannot be asked to delete either: the objects stay pending, and the
            // next writer removes them.
            if !error.isRunFatal { try? upload.discard() }
            throw error
        }
    }

    /// A unit whose every file has the size of an original the library holds (or this run stored) may be a copy: its
    /// files are hashed first, one read and no upload, and a copy is resolved before anything is encrypted. Any other
    /// unit is hashed while it is encrypted, in one read.
    ///
    /// A copy of a unit another worker is storing now waits for it, then is resolved against what it committed; the
    /// first claims the hash (`claim`, released by the caller when the unit is done, stored or not).
    private func resolveBeforeUpload(upload: UploadSession, album: AlbumTarget, claim: inout String?) throws -> CommitOutcome? {
        guard unit.completing == nil, knownSizes.containsAll(unit.files.map(\.source.size)) else { return nil }
        // Not counted as progress here: a unit that is no copy is read (and counted) again as it is encrypted.
        let hash = try unit.files.map { analysed in try readSource(analysed, counting: false) { _ in } }.joined(separator: ":")
        func resolve() throws -> CommitOutcome? {
            try upload.resolveExisting(hash: hash, album: album, sourceFiles: unit.files.map(\.source), reuploadDeleted: options.reuploadDeleted)
        }
        var existing = try resolve()
        while existing == nil, !inFlight.claim(hash) { existing = try resolve() }
        if existing == nil { claim = hash }
        if existing != nil { observer.read(bytes: unit.size) }
        return existing
    }

    /// Reads the file once, hashing and encrypting each chunk into a new object; returns it and the plaintext hash.
    private func storeOriginal(_ analysed: AnalysedFile, role: ObjectRole, upload: UploadSession) throws -> (ObjectName, String) {
        try upload.storeSealed(role: role) { write in try readSource(analysed, into: write) }
    }

    /// Reads the file as analysed (refusing one that changed since), handing each piece to `body`; its plaintext hash.
    private func readSource(_ analysed: AnalysedFile, counting: Bool = true, into body: (UnsafeRawBufferPointer) throws -> Void) throws -> String {
        let fd = try openSource(analysed.file.readPath)
        defer { close(fd) }
        let now = try sourceRecord(fd: fd, path: analysed.file.path)
        guard now.size == analysed.source.size, now.mtimeNanoseconds == analysed.source.mtimeNanoseconds else {
            throw JobStop.failed("the file changed during the run; it will be taken on the next one")
        }
        let hasher = Blake2b()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.readSize, alignment: 64)
        defer { buffer.deallocate() }
        var total: Int64 = 0
        while true {
            let got = read(fd, buffer.baseAddress, buffer.count)
            if got < 0 {
                if errno == EINTR { continue }
                throw JobStop.failed("read error: \(String(cString: strerror(errno)))")
            }
            if got == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[..<got])
            hasher.update(chunk)
            try body(chunk)
            total += Int64(got)
            if counting { observer.read(bytes: Int64(got)) }
        }
        guard total == analysed.source.size else {
            throw JobStop.failed("the file changed while it was being read (\(analysed.source.size) → \(total) bytes)")
        }
        return hasher.finalize().hexString
    }

    private func outcomes(_ commit: CommitOutcome, type: ItemType?, problems: [StageProblem]) -> [FileOutcome] {
        unit.files.map { analysed in
            var outcome = FileOutcome(path: analysed.file.path, commit, bytes: analysed.source.size)
            outcome.type = type ?? (try? library.index.item(id: commit.itemId))??.type
            outcome.mimeType = analysed.format.mimeType
            if case .stored = commit { outcome.notProduced = problems }
            return outcome
        }
    }
}
