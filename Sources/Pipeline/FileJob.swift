import Foundation
import KeepsakeCrypto
import Media
import Store
#if canImport(Glibc)
import Glibc
#endif

/// The largest file Keepsake accepts (SPEC 2).
let maximumFileSize: Int64 = 10 << 30

/// Why a file's job stopped early.
enum JobStop: Error {
    case rejected(String)
    case failed(String)
}

/// Processes one file from start to commit, on the calling (worker) thread.
struct FileJob {
    let file: DiscoveredFile
    let library: Library
    let options: IngestOptions
    let observer: any IngestObserver

    private static let readSize = 1 << 20

    func run() -> FileOutcome {
        do {
            return try process()
        } catch JobStop.rejected(let reason) {
            return record(FileOutcome(path: file.path, status: .rejected, bytes: file.size, reason: reason), stage: "sniff")
        } catch JobStop.failed(let reason) {
            return record(FileOutcome(path: file.path, status: .failed, bytes: file.size, reason: reason), stage: "store")
        } catch {
            return record(FileOutcome(path: file.path, status: .failed, bytes: file.size, reason: "\(error)"), stage: "store")
        }
    }

    private func record(_ outcome: FileOutcome, stage: String) -> FileOutcome {
        try? library.index.recordFailure(path: file.path, stage: stage, reason: outcome.reason ?? "")
        return outcome
    }

    private func process() throws -> FileOutcome {
        let fd = open(file.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw JobStop.failed("cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw JobStop.failed("cannot stat: \(String(cString: strerror(errno)))") }
        let size = Int64(info.st_size)
        let source = SourceFileRecord(path: file.path, size: size,
                                      mtimeNanoseconds: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec),
                                      inode: Int64(info.st_ino), itemId: "")
        let album = options.album(for: file)
        if size == 0 { throw JobStop.rejected("empty file") }
        if size > maximumFileSize { throw JobStop.rejected("too large (\(size) bytes; the limit is 10 GiB)") }

        if !options.rehash, let outcome = try unchanged(source, album: album) { return outcome }

        let reader = FileReader(fd: fd, chunkSize: Self.readSize)
        let head = try reader.next()
        let format: MediaFormat
        switch Sniffer.sniff(head) {
        case .empty: throw JobStop.rejected("empty file")
        case .unsupported(let mime): throw JobStop.rejected("unsupported: \(mime)")
        case .media(let sniffed): format = sniffed
        }

        let fileKey = SecretKey()
        let (originalName, writer) = try library.beginObject()
        var written: [ObjectName] = [originalName]
        do {
            let hasher = Blake2b()
            let sealer = try SealingStream(key: fileKey) { try writer.write($0) }
            var total: Int64 = 0
            var chunk = head
            while !chunk.isEmpty {
                try chunk.withUnsafeBytes { buffer in
                    hasher.update(buffer)
                    try sealer.write(buffer)
                }
                total += Int64(chunk.count)
                observer.read(bytes: Int64(chunk.count))
                chunk = try reader.next()
            }
            guard total == size else { throw JobStop.failed("the file changed while it was being read (\(size) → \(total) bytes)") }
            try sealer.finish()
            try writer.commit()
            try library.markStored(originalName)
            let hash = hasher.finalize().hexString

            if let existing = try library.resolveExisting(hash: hash, album: album, sourceFiles: [source],
                                                          reuploadDeleted: options.reuploadDeleted) {
                try library.discard(written)
                written = []
                return outcome(existing, format: format, size: size)
            }

            let original = OriginalRecord(id: nil, itemId: "", role: "main", name: (file.path as NSString).lastPathComponent,
                                          sourcePath: file.path, size: size, blake2b: hash, mimeType: format.mimeType,
                                          objectName: originalName.path)
            var item = NewItem(type: format.kind == .video ? .video : .image, dedupHash: hash, fileKey: fileKey, originals: [original])
            item.sourceFiles = [source]
            try MediaStages(library: library, options: options).produce(for: &item, path: file.path, format: format,
                                                                        written: &written)
            let committed = try library.commit(item, album: album)
            written = []
            var result = outcome(committed, format: format, size: size)
            result.type = item.type
            if case .stored = committed { result.notProduced = item.stageProblems }
            return result
        } catch {
            writer.abort()
            try? library.discard(written)
            throw error
        }
    }

    /// The fast path of a re-run: a file whose path, size, mtime and inode match the last ingest is not read again.
    private func unchanged(_ source: SourceFileRecord, album: AlbumTarget) throws -> FileOutcome? {
        guard let known = try library.index.sourceFile(at: source.path), known.size == source.size,
              known.mtimeNanoseconds == source.mtimeNanoseconds, known.inode == source.inode,
              let item = try library.index.item(id: known.itemId),
              let existing = try library.resolveExisting(hash: item.dedupHash, album: album, sourceFiles: [source],
                                                         reuploadDeleted: options.reuploadDeleted) else { return nil }
        observer.read(bytes: source.size)
        var result = outcome(existing, format: nil, size: source.size)
        result.type = item.type
        result.mimeType = try library.index.originals(of: item.id).first { $0.sourcePath == source.path }?.mimeType
        return result
    }

    private func outcome(_ commit: CommitOutcome, format: MediaFormat?, size: Int64) -> FileOutcome {
        let status: FileOutcome.Status = switch commit {
        case .stored: .stored
        case .duplicate: .duplicate
        case .addedToAlbum: .addedToAlbum
        case .previouslyDeleted: .previouslyDeleted
        }
        var result = FileOutcome(path: file.path, status: status, bytes: size)
        result.itemId = commit.itemId
        result.mimeType = format?.mimeType
        return result
    }
}

/// Sequential reads of an open file in fixed-size chunks; an empty chunk means the end.
struct FileReader {
    let fd: Int32
    let chunkSize: Int

    func next() throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: chunkSize)
        var filled = 0
        while filled < chunkSize {
            let got = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, chunkSize - filled) }
            if got < 0 {
                if errno == EINTR { continue }
                throw JobStop.failed("read error: \(String(cString: strerror(errno)))")
            }
            if got == 0 { break }
            filled += got
        }
        buffer.removeLast(chunkSize - filled)
        return buffer
    }
}
