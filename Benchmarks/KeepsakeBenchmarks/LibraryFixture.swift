import Benchmark
import FileSystem
import Foundation
import KeepsakeCrypto
import Media
import MediaTypes
import Store
#if canImport(Glibc)
import Glibc
#endif

/// A library of `count` items made through the public API the way ingest makes one, for the rebuild and sync
/// benchmarks (issues 14 and 15). Each item has a tiny original, thumbnail and metadata object (the rebuild reads
/// none of them) and a real photo's metadata JSON; a quarter are in no album, the rest in one of three albums, every
/// 20th also in "Favourites", and 50 are deleted.
///
/// The log is left in its worst case for a rebuild: as many entries after the newest checkpoint as there can be
/// without one being due (a checkpoint is due once a quarter of the items' worth of entries were written): the first
/// part is committed, added to Favourites, partly deleted and checkpointed (as at the end of an ingest), and the rest is
/// committed after that checkpoint, stopping one entry short of the next.
struct LibraryFixture {
    static let passphrase = "benchmark"
    static let deletedCount = 50
    private static let albums: [AlbumTarget] = [.uncategorized, .named("Holidays 2024"), .named("Family"), .named("Garden")]

    let count: Int
    /// Items committed after the checkpoint that the rest is in.
    var itemsAfterCheckpoint: Int { (count - Self.deletedCount) / 4 - 1 }
    var itemsBeforeCheckpoint: Int { count - itemsAfterCheckpoint }
    /// Items the library lists (the deleted ones are not counted).
    var listedItems: Int { count - Self.deletedCount }

    /// Fills the new library `library` (lock taken here) and returns how long that took.
    func fill(_ library: Library) throws -> Duration {
        let started = ContinuousClock.now
        let (lock, _) = try library.lockForWriting()
        defer { withExtendedLifetime(lock) {} }
        var ids: [String] = []
        for number in 0..<itemsBeforeCheckpoint { ids.append(try Self.commitItem(number, to: library)) }
        for (number, id) in ids.enumerated() where number % 20 == 0 {
            let outcome = try library.resolveExisting(itemId: id, album: .named("Favourites"), sourceFiles: [])
            precondition(outcome == .addedToAlbum(itemId: id), "every 20th item goes into a second album")
        }
        let every = ids.count / Self.deletedCount
        let deleted = Array(stride(from: every - 1, to: ids.count, by: every).prefix(Self.deletedCount))
        precondition(deleted.count == Self.deletedCount, "\(Self.deletedCount) items to delete")
        for number in deleted { try library.markDeleted(itemId: ids[number]) }
        // The end of an ingest: more than 64 entries (the Favourites and deletions) since the last checkpoint.
        try library.checkpointIfDue()
        for number in itemsBeforeCheckpoint..<count { _ = try Self.commitItem(number, to: library) }
        let listed = try library.index.counts().items
        precondition(listed == listedItems, "the fixture lists \(listed) items, not \(listedItems)")
        return ContinuousClock.now - started
    }

    /// Commits one new item (`number` makes its bytes unique) the way Pipeline does, and returns its id.
    @discardableResult
    static func commitItem(_ number: Int, to library: Library) throws -> String {
        let bytes = Array("tiny original \(number)".utf8)
        let hash = Blake2b.hash(bytes).hexString
        let upload = library.beginUpload()
        let original = try upload.storeSealed(bytes, role: .original)
        let name = "IMG_\(String(format: "%05d", number)).JPG"
        var item = NewItem(type: .image, dedupHash: hash, fileKey: upload.fileKey, originals: [
            OriginalRecord(itemId: "", role: "main", name: BytePath(name), sourcePath: BytePath("/home/me/Pictures/2024/\(name)"),
                           size: Int64(bytes.count), blake2b: hash, mimeType: "image/jpeg", objectName: original.path),
        ])
        item.metadataJSON = metadataJSON
        item.thumbnailObject = try upload.storeSealed(Array("tiny thumbnail \(number)".utf8), role: .thumbnail)
        item.metadataObject = try upload.storeSealed(Array("tiny metadata \(number)".utf8), role: .metadata)
        let outcome = try upload.commit(item, album: albums[number % albums.count])
        guard case .stored(let id) = outcome else { preconditionFailure("item \(number) is new, but: \(outcome)") }
        return id
    }

    /// The metadata JSON of a real photo of the corpus, as ingest encodes it: the one closest to 1 KiB.
    static let metadataJSON: String = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let documents = BenchmarkData.corpusFiles(["jpg", "jpeg"]).compactMap { path -> String? in
            guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
            defer { try? handle.close() }
            guard case .media(let format) = Sniffer.sniff(Array(handle.readData(ofLength: Sniffer.headerLength))),
                  let metadata = try? MetadataReader.read(fileAt: path, format: format),
                  let json = try? encoder.encode(metadata) else { return nil }
            return String(decoding: json, as: UTF8.self)
        }
        guard let closest = documents.min(by: { abs($0.utf8.count - 1024) < abs($1.utf8.count - 1024) }) else {
            fatalError("no corpus JPEG gives metadata: set KEEPSAKE_CORPUS")
        }
        return closest
    }()

    /// A new folder whose `store` is `store`: another machine's library folder, without an index yet.
    static func folder(sharing store: String) -> String {
        let folder = BenchmarkData.temporaryDirectory("folder")
        precondition(symlink(store, folder + "/store") == 0, "symlink to \(store)")
        return folder
    }

    /// Removes a folder made by `folder(sharing:)` (the store it links to stays).
    static func remove(_ folder: String) {
        unlink(folder + "/store")
        try? FileManager.default.removeItem(atPath: folder)
    }
}

/// The 10,000-item library on a local store, made once and kept in the temporary folder (making it takes minutes):
/// `worstCase` with the most entries after its newest checkpoint, `checkpointed` the same library checkpointed
/// afterwards (as at the end of an ingest). Each is a library folder with its `store/`.
enum LocalLibraries {
    static let fixture = LibraryFixture(count: 10_000)
    private static let root = NSTemporaryDirectory() + "keepsake-bench-fixtures/library-10000-v1"
    static var worstCase: String { root + "/worst-case" }
    static var checkpointed: String { root + "/checkpointed" }

    /// Makes both (unless a previous run did); says on standard error how long that took.
    static func make() throws {
        let done = root + "/complete"
        if FileManager.default.fileExists(atPath: done) { return }
        try? FileManager.default.removeItem(atPath: root)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        do {
            let library = try Library.open(at: worstCase, passphrase: LibraryFixture.passphrase, create: true)
            let took = try fixture.fill(library)
            report("made \(fixture.count) items in \(took) (\(Double(fixture.count) / took.seconds) items/s); "
                   + "\(entriesAfterNewestCheckpoint(worstCase)) log entries after the newest checkpoint")
        }
        try run("/bin/cp", ["-a", worstCase, checkpointed])
        do {
            let library = try Library.open(at: checkpointed, passphrase: LibraryFixture.passphrase, create: false)
            let (lock, _) = try library.lockForWriting()
            defer { withExtendedLifetime(lock) {} }
            try library.checkpointIfDue()
        }
        let after = entriesAfterNewestCheckpoint(checkpointed)
        precondition(after == 0, "the checkpointed library has \(after) entries after its newest checkpoint")
        FileManager.default.createFile(atPath: done, contents: nil)
    }

    /// Counts the log entries named after the newest checkpoint (names start with their time in 16 hex digits).
    static func entriesAfterNewestCheckpoint(_ library: String) -> Int {
        func times(_ folder: String) -> [UInt64] {
            ((try? FileManager.default.contentsOfDirectory(atPath: "\(library)/store/\(folder)")) ?? []).compactMap { UInt64($0.prefix(16), radix: 16) }
        }
        guard let newest = times("checkpoints").max() else { return times("log").count }
        return times("log").filter { $0 > newest }.count
    }
}

func report(_ line: String) {
    FileHandle.standardError.write(Data("keepsake benchmark: \(line)\n".utf8))
}

func run(_ executable: String, _ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    try process.run()
    process.waitUntilExit()
    precondition(process.terminationStatus == 0, "\(executable) \(arguments) failed")
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
