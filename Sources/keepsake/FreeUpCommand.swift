import ArgumentParser
import Foundation
import KeepsakeCrypto
import Store
#if canImport(Glibc)
import Glibc
#endif

/// `keepsake free-up DIR`: deletes local files the library holds bit-exact, as Ente's "Free up space" does, and
/// nothing else. A file is deleted only when all of these hold: it is a regular file with one name (not a symlink,
/// not a hard link), it did not change while it was read, the library has a live item with an original of its exact
/// size and BLAKE2b-512, and the store gives that original back (read, checked, decrypted and hashed again, unless
/// `--trust-index`, which checks only that the object is there at its recorded size).
struct FreeUpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "free-up",
        abstract: "Delete local files the library holds bit-exact (checked against the store), to free up space.",
        discussion: "Lists every file it deleted and every file it kept, with the reason. Nothing is deleted that the library does not hold exactly.")

    @Argument(help: "The folder to free up (walked recursively; symlinks are not followed).")
    var folder: String

    @Flag(help: "Say what would be deleted, and delete nothing.")
    var dryRun = false

    @Option(help: ArgumentHelp("Only files last modified longer ago than this (30d, 12h, 2w).", valueName: "AGE"))
    var olderThan: String?

    @Flag(help: "Do not read the originals back from the store: only check that they are there at their recorded size.")
    var trustIndex = false

    @Flag(help: "One JSON object a line per file, then a summary object.")
    var json = false

    @OptionGroup var libraryOptions: LibraryOptions

    struct Decision: Encodable {
        var path: String
        var deleted: Bool
        var reason: String
        var itemId: String?
    }

    func run() throws {
        let cutoff = try olderThan.map { text -> Date in
            let later = try ExpiryParser.date(from: text)
            return Date().addingTimeInterval(-later.timeIntervalSinceNow)
        }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw UsageError(message: "\(folder): no such folder")
        }
        let library = try libraryOptions.open()
        var decisions: [Decision] = []
        var freed: Int64 = 0
        for path in Self.regularFilesAndLinks(under: folder) {
            let decision = try decide(path, library: library, cutoff: cutoff, freed: &freed)
            decisions.append(decision)
            if json {
                printJSONLine(decision)
            } else {
                print(decision.deleted ? "\(dryRun ? "would delete" : "deleted")  \(path)  (\(decision.reason))" : "kept     \(path): \(decision.reason)")
            }
        }
        let deleted = decisions.filter(\.deleted).count
        if json {
            struct Summary: Encodable { var summary = true, dryRun: Bool, deletedFiles: Int, keptFiles: Int, bytesFreed: Int64 }
            printJSONLine(Summary(dryRun: dryRun, deletedFiles: deleted, keptFiles: decisions.count - deleted, bytesFreed: freed))
        } else {
            print("\(dryRun ? "would delete" : "deleted") \(deleted) files (\(formatBytes(freed))), kept \(decisions.count - deleted)")
        }
    }

    /// Whether the file at `path` goes, and why (or why not).
    private func decide(_ path: String, library: Library, cutoff: Date?, freed: inout Int64) throws -> Decision {
        func keep(_ reason: String) -> Decision { Decision(path: path, deleted: false, reason: reason) }
        var before = stat()
        guard lstat(path, &before) == 0 else { return keep("cannot be read: \(String(cString: strerror(errno)))") }
        if before.st_mode & S_IFMT == S_IFLNK { return keep("a symlink: what it points to is not this folder's to delete") }
        guard before.st_mode & S_IFMT == S_IFREG else { return keep("not a regular file") }
        if before.st_nlink > 1 { return keep("a hard link (\(before.st_nlink) names): deleting one name frees no space") }
        if let cutoff, Date(timeIntervalSince1970: TimeInterval(before.st_mtim.tv_sec)) > cutoff {
            return keep("modified more recently than --older-than \(olderThan ?? "")")
        }
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return keep("cannot be read: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard let hash = Self.blake2b(of: fd) else { return keep("cannot be read to the end") }
        var after = stat()
        guard fstat(fd, &after) == 0, Self.sameFile(before, after) else { return keep("it changed while it was read") }
        let held = try library.heldOriginals(blake2b: hash, size: Int64(after.st_size))
        guard !held.isEmpty else { return keep("the library holds no item with these bytes (never ingested, or changed since)") }
        var missing: [String] = []
        for candidate in held {
            guard try library.storeGivesBack(candidate, hash: hash, readBack: !trustIndex) else {
                missing.append(candidate.itemId)
                continue
            }
            // Last look: the file at the path is still the one read, unchanged.
            var now = stat()
            guard lstat(path, &now) == 0, Self.sameFile(before, now) else { return keep("it changed while it was checked") }
            let albums = candidate.albums.isEmpty ? "Uncategorized" : candidate.albums.joined(separator: ", ")
            let reason = "held by item \(candidate.itemId) in \(albums)" + (trustIndex ? ", present in the store" : ", read back from the store")
            if !dryRun {
                guard unlink(path) == 0 else { return keep("cannot be deleted: \(String(cString: strerror(errno)))") }
            }
            freed += Int64(after.st_size)
            return Decision(path: path, deleted: true, reason: reason, itemId: candidate.itemId)
        }
        return keep("the library's copy (item \(missing.joined(separator: ", "))) does not come back from the store intact: `keepsake verify --read-data` tells more")
    }

    /// Every entry under `folder` that is not a folder (symlinks included, not followed), in name order.
    static func regularFilesAndLinks(under folder: String) -> [String] {
        var found: [String] = []
        var pending = [folder]
        while let current = pending.popLast() {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: current) else { continue }
            for name in names.sorted() {
                let path = current.hasSuffix("/") ? current + name : current + "/" + name
                var info = stat()
                guard lstat(path, &info) == 0 else { found.append(path); continue }
                if info.st_mode & S_IFMT == S_IFDIR { pending.append(path) } else { found.append(path) }
            }
        }
        return found.sorted()
    }

    static func sameFile(_ a: stat, _ b: stat) -> Bool {
        a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size
            && a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec
    }

    /// The BLAKE2b-512 of everything `fd` reads, in hex; nil on a read error.
    static func blake2b(of fd: Int32) -> String? {
        let hasher = Blake2b()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { return hasher.finalize().hexString }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
        }
    }
}
