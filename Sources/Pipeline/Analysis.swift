import FileSystem
import Foundation
import MediaTypes
import Store
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The largest file Keepsake accepts (SPEC 2).
let maximumFileSize: Int64 = 10 << 30

/// A media file after the first phase: its type from its bytes, and its metadata.
struct AnalysedFile: Sendable {
    var file: DiscoveredFile
    var source: SourceFileRecord
    var format: MediaFormat
    var metadata: MediaMetadata?
    var metadataProblem: StageProblem?
    /// A photo's thumbnail and rendition, when they came with its metadata (`EarlyPictures`): phase 2 asks for none.
    var pictures: Result<StillPictures, MediaWorkError>?
}

/// Which photos get their pictures with their metadata in phase 1, from one worker request (where a photo otherwise
/// costs two workers: its metadata, then its pictures in phase 2): those that cannot be copies of what the library
/// holds (no original of it has their size: a copy needs no pictures), until the pictures held for phase 2 reach
/// `budget` bytes (memory stays bounded: the photos after that get theirs in phase 2, from a second request). Two
/// copies in one run both get pictures; the duplicate's are not used.
final class EarlyPictures: Sendable {
    private let librarySizes: Set<Int64>
    private let budget: Mutex<Int>
    static let defaultBudget = 64 << 20

    init(librarySizes: Set<Int64>, budget: Int = EarlyPictures.defaultBudget) {
        self.librarySizes = librarySizes
        self.budget = Mutex(budget)
    }

    func wanted(format: MediaFormat, size: Int64) -> Bool {
        format.kind == .image && !librarySizes.contains(size) && budget.withLock { $0 > 0 }
    }

    func hold(_ pictures: Result<StillPictures, MediaWorkError>) {
        guard case .success(let made) = pictures else { return }
        budget.withLock { $0 -= made.thumbnail.count + (made.rendition?.count ?? 0) }
    }
}

/// Why a file's job stopped early: `rejected` for what is not media, `failed` for what could not be read or stored.
enum JobStop: Error {
    case rejected(String)
    case failed(String)
}

/// The first phase of a file: size limits, the unchanged-file fast path, sniffing and metadata. It reads only
/// the header and what the metadata parser needs, so pairing can see every file before anything is stored.
struct AnalyseJob {
    let file: DiscoveredFile
    let library: Library
    let options: IngestOptions
    /// What the index knew of source files when the run began (empty with `--rehash`).
    let known: [BytePath: LibraryIndex.KnownSourceFile]
    let observer: any IngestObserver
    let stop: RunStop
    let early: EarlyPictures

    enum Result: Sendable {
        case analysed(AnalysedFile)
        /// Nothing more to do: rejected, failed, or unchanged since the last run.
        case done(FileOutcome)
        /// A run-fatal error: the file is left for the next run.
        case abandoned
    }

    func run() -> Result {
        do {
            return try analyse()
        } catch where stop.stops(on: error) {
            return .abandoned
        } catch JobStop.rejected(let reason) {
            return .done(recordFailure(.rejected, reason: reason, stage: "sniff"))
        } catch JobStop.failed(let reason) {
            return .done(recordFailure(.failed, reason: reason, stage: "read"))
        } catch {
            return .done(recordFailure(.failed, reason: "\(error)", stage: "index"))
        }
    }

    private func recordFailure(_ status: FileOutcome.Status, reason: String, stage: String) -> FileOutcome {
        try? library.index.recordFailure(path: file.path, stage: stage, reason: reason)
        return FileOutcome(path: file.path, status: status, bytes: file.size, reason: reason)
    }

    private func analyse() throws -> Result {
        let fd = try openSource(file.readPath)
        defer { close(fd) }
        let source = try sourceRecord(fd: fd, path: file.path)
        if source.size == 0 { throw JobStop.rejected("empty file") }
        if source.size > maximumFileSize { throw JobStop.rejected("too large (\(source.size) bytes; the limit is 10 GiB)") }
        if !options.rehash, let outcome = try unchanged(source) { return .done(outcome) }

        var header = [UInt8](repeating: 0, count: Sniffer.headerLength)
        let count = header.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { throw JobStop.failed("read error: \(String(cString: strerror(errno)))") }
        let format: MediaFormat
        switch Sniffer.sniff(header.prefix(count)) {
        case .empty: throw JobStop.rejected("empty file")
        case .unsupported(let mime): throw JobStop.rejected("unsupported: \(mime)")
        case .media(let sniffed): format = sniffed
        }
        var analysed = AnalysedFile(file: file, source: source, format: format)
        let metadata: Swift.Result<MediaMetadata, MediaWorkError>
        if early.wanted(format: format, size: source.size) {
            let both = options.mediaWork.metadataAndPictures(fileAt: file.readPath, format: format, rendition: .whereNeeded)
            (metadata, analysed.pictures) = (both.metadata, both.pictures)
            early.hold(both.pictures)
        } else {
            metadata = Swift.Result { () throws(MediaWorkError) in try options.mediaWork.metadata(fileAt: file.readPath, format: format) }
        }
        switch metadata {
        case .success(let read): analysed.metadata = read
        case .failure(.notProduced(let problem)): analysed.metadataProblem = problem
        case .failure(let error): throw JobStop.failed(error.description)
        }
        if let takeout = file.takeout, analysed.metadata != nil { takeout.fill(&analysed.metadata!) }
        return .analysed(analysed)
    }

    /// The fast path of a re-run: a file whose path, size, mtime and inode match the last ingest is not read
    /// again. When its item is already in the target album, not even the index is touched.
    private func unchanged(_ source: SourceFileRecord) throws -> FileOutcome? {
        guard let known = known[source.path], known.record.size == source.size,
              known.record.mtimeNanoseconds == source.mtimeNanoseconds, known.record.inode == source.inode else { return nil }
        let album = options.album(for: file)
        let commit: CommitOutcome
        if !known.isDeleted && known.albums.contains(album) {
            commit = .duplicate(itemId: known.record.itemId)
        } else {
            guard let existing = try library.resolveExisting(itemId: known.record.itemId, album: album, sourceFiles: [source],
                                                             reuploadDeleted: options.reuploadDeleted) else { return nil }
            commit = existing
        }
        observer.read(bytes: source.size)
        var outcome = FileOutcome(path: file.path, commit, bytes: source.size)
        outcome.type = known.itemType
        outcome.mimeType = known.mimeType
        return outcome
    }
}

/// Opens a source file for reading by its exact bytes, whatever its length (`PathOpener`). O_NONBLOCK: a FIFO put
/// in the place of the file since discovery must not block the run (it is refused by `sourceRecord`).
func openSource(_ path: BytePath) throws -> Int32 {
    do { return try PathOpener.open(path, flags: O_RDONLY | O_NONBLOCK) } catch { throw JobStop.failed("cannot open: \(error)") }
}

/// The identity of an open file, as the index records it for the fast path.
func sourceRecord(fd: Int32, path: BytePath) throws -> SourceFileRecord {
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw JobStop.failed("cannot stat: \(String(cString: strerror(errno)))") }
    guard info.st_mode & S_IFMT == S_IFREG else { throw JobStop.failed("no longer a regular file") }
    return SourceFileRecord(path: path, size: Int64(info.st_size),
                            mtimeNanoseconds: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec),
                            inode: Int64(info.st_ino), itemId: "")
}

extension FileOutcome {
    init(path: BytePath, _ commit: CommitOutcome, bytes: Int64) {
        let status: Status = switch commit {
        case .stored: .stored
        case .duplicate: .duplicate
        case .addedToAlbum: .addedToAlbum
        case .previouslyDeleted: .previouslyDeleted
        }
        self.init(path: path, status: status, bytes: bytes)
        itemId = commit.itemId
    }
}
