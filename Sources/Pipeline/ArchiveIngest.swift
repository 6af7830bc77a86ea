import Archives
import FileSystem
import Foundation
import MediaTypes
import Store
#if canImport(Glibc)
import Glibc
#endif

/// `keepsake ingest takeout-001.zip …`: media read out of ZIP archives (ZIP64 too) member by member, without unpacking
/// them into a folder. Each member is inflated into an unnamed file (in memory, or for a large one an unlinked file in
/// the library folder) that exists only while the pipeline reads it; the library records it under the archive's path
/// and its path inside (`takeout-001.zip/Takeout/Google Photos/Trip/IMG_1.jpg`).
///
/// Google Takeout: the JSON sidecars inside the archives give capture time, place and description (a sidecar may be in
/// another part of a split export than its photo: all the run's archives are one tree); `--album-per-folder` names
/// albums after the album folders (their `metadata.json` title when there is one), and the `Photos from YYYY` folders,
/// which are Google's by-year view and not albums, go to no album.
public enum ArchiveIngest {
    /// The archives' media, sidecars and what was left out, read before anything is stored.
    public struct Plan: Sendable {
        struct Member: Sendable {
            var archive: Int
            var member: ArchiveMember
            var path: BytePath
            var album: String
            var takeout: TakeoutMetadata?
        }

        var archives: [String]
        var members: [Member] = []
        public var skips = DiscoverySkips()
        /// Archives that could not be opened: failures, like an unreadable file.
        public var unreadable: [SkippedPath] = []

        public var fileCount: Int { members.count }
        public var byteCount: Int64 { members.reduce(0) { $0 + Int64($1.member.size) } }
    }

    /// True for a regular file that starts as a ZIP archive does (a local file header, or the end record of an empty one).
    public static func isArchive(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue,
              let head = try? handle.read(upToCount: 4), head.count == 4 else { return false }
        return Array(head) == [0x50, 0x4B, 0x03, 0x04] || Array(head) == [0x50, 0x4B, 0x05, 0x06]
    }

    /// Lists the archives' members: media to ingest, sidecars (read now, they are small), and what is left out.
    public static func plan(_ paths: [String], exclude: [String] = []) -> Plan {
        var plan = Plan(archives: paths)
        let exclusions = Exclusions(patterns: exclude)
        var sidecars: [String: Data] = [:]
        var titles: [String: String] = [:]
        var media: [(Int, ArchiveMember)] = []
        for (index, path) in paths.enumerated() {
            let archive: ZipArchive
            do { archive = try ZipArchive(path: path) } catch {
                plan.unreadable.append(SkippedPath(path: BytePath(path), reason: "\(error)"))
                continue
            }
            for member in archive.members {
                let name = member.name
                if member.path.hasPrefix("__MACOSX/") || name.hasPrefix(".") { plan.skips.hidden += 1; continue }
                // archive_browser.html: the index page Google puts at the top of every Takeout export.
                if ["Thumbs.db", "desktop.ini", "archive_browser.html"].contains(name) { plan.skips.systemFiles += 1; continue }
                if excluded(member.path, by: exclusions) { plan.skips.excludedFiles += 1; continue }
                if name.lowercased().hasSuffix(".json") {
                    plan.skips.sidecars += 1
                    guard let data = archive.small(member, upTo: 1 << 20) else { continue }
                    sidecars[member.path] = data
                    if name == "metadata.json", let title = albumTitle(data) { titles[member.folder] = title }
                    continue
                }
                media.append((index, member))
            }
        }
        let now = Int(Date().timeIntervalSince1970)
        for (index, member) in media.sorted(by: { ($0.1.folder, $0.1.name, $0.0) < ($1.1.folder, $1.1.name, $1.0) }) {
            let takeout = TakeoutMetadata.sidecarNames(for: member.name).lazy.compactMap { name in
                sidecars[member.folder.isEmpty ? name : member.folder + "/" + name]
            }.first.flatMap { TakeoutMetadata.parse($0, now: now) }
            plan.members.append(Plan.Member(archive: index, member: member, path: BytePath(paths[index]).appending(Array(member.path.utf8)),
                                            album: album(of: member.folder, archive: paths[index], titles: titles), takeout: takeout))
        }
        return plan
    }

    /// Ingests the plan's media in batches (folder by folder, so a Live Photo's two files meet), each member spooled
    /// while its batch runs; a member that does not inflate fails alone.
    public static func run(_ plan: Plan, spoolFolder: String, library: Library, options: IngestOptions,
                           observer: any IngestObserver) throws -> IngestSummary {
        let start = ContinuousClock.now
        var summary = IngestSummary()
        summary.skipped = plan.skips
        summary.skipped.unreadable = plan.unreadable
        for failure in plan.unreadable {
            let outcome = FileOutcome(path: failure.path, status: .failed, bytes: 0, reason: "cannot read: \(failure.reason)")
            try? library.index.recordFailure(path: outcome.path, stage: "archive", reason: outcome.reason ?? "")
            observer.finished(outcome)
            summary.outcomes.append(outcome)
        }
        var archives: [Int: ZipArchive] = [:]
        for batch in batches(plan.members) {
            guard !options.isCancelled() else { break }
            var spooled: [Int32] = []
            defer { for fd in spooled { close(fd) } }
            var files: [DiscoveredFile] = []
            for entry in batch {
                do {
                    if archives[entry.archive] == nil { archives[entry.archive] = try ZipArchive(path: plan.archives[entry.archive]) }
                    let fd = try spool(entry.member, from: archives[entry.archive]!, into: spoolFolder)
                    spooled.append(fd)
                    files.append(DiscoveredFile(path: entry.path, folderName: entry.album, size: Int64(entry.member.size),
                                                contents: MemoryFile.path(of: fd), takeout: entry.takeout))
                } catch let error as ArchiveError {
                    let outcome = FileOutcome(path: entry.path, status: .failed, bytes: Int64(entry.member.size), reason: "\(error)")
                    try? library.index.recordFailure(path: entry.path, stage: "archive", reason: "\(error)")
                    observer.finished(outcome)
                    summary.outcomes.append(outcome)
                }
            }
            guard !files.isEmpty else { continue }
            let part = try Ingest.run(files: files, skips: DiscoverySkips(), library: library, options: options, observer: observer)
            summary.outcomes += part.outcomes
            summary.orphansRemoved += part.orphansRemoved
        }
        summary.outcomes.sort { $0.path < $1.path }
        let elapsed = ContinuousClock.now - start
        summary.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return summary
    }

    // MARK: Batches and spooling

    /// What one batch may hold: members are spooled to memory up to this many bytes a batch (larger ones go to disk).
    static let batchBytes: UInt64 = 256 << 20
    static let batchFiles = 400
    /// A member larger than this is spooled to an unlinked file in the library folder, not to memory.
    static let memoryMember: UInt64 = 64 << 20

    /// The members in batches of whole folders (a folder larger than a batch is cut where it must be).
    static func batches(_ members: [Plan.Member]) -> [[Plan.Member]] {
        var batches: [[Plan.Member]] = []
        var current: [Plan.Member] = [], bytes: UInt64 = 0
        var folderStart = 0
        for member in members {
            if let last = current.last, last.member.folder != member.member.folder || last.archive != member.archive {
                folderStart = current.count
            }
            let inMemory = member.member.size <= memoryMember ? member.member.size : 0
            if !current.isEmpty, bytes + inMemory > batchBytes || current.count >= batchFiles {
                // Cut before the folder this member is in, unless that folder is the whole batch.
                let cut = folderStart > 0 ? folderStart : current.count
                batches.append(Array(current[..<cut]))
                current = Array(current[cut...])
                bytes = current.reduce(0) { $0 + ($1.member.size <= memoryMember ? $1.member.size : 0) }
                folderStart = 0
            }
            current.append(member)
            bytes += inMemory
        }
        if !current.isEmpty { batches.append(current) }
        return batches
    }

    /// Inflates `member` into a new unnamed file: a memory file, or for a large member an `O_TMPFILE` in `folder`
    /// (never linked, gone when closed). Its modification time is the member's. The caller closes it.
    static func spool(_ member: ArchiveMember, from archive: ZipArchive, into folder: String) throws -> Int32 {
        let fd: Int32
        if member.size > memoryMember, case let made = open(folder, O_TMPFILE | O_RDWR | O_CLOEXEC, 0o600), made >= 0 {
            fd = made
        } else {
            do { fd = try MemoryFile.make(name: "keepsake-archive-member") } catch {
                throw ArchiveError.damagedMember(member.path, reason: "cannot make a memory file: \(error)")
            }
        }
        do {
            try archive.read(member) { bytes in try FileIO.writeFully(fd, bytes) }
        } catch let error as ArchiveError {
            close(fd)
            throw error
        } catch {
            close(fd)
            throw StoreError.io(operation: "write", path: folder, errno: (error as? Errno)?.code ?? EIO)
        }
        if let modified = member.modified {
            let seconds = modified.timeIntervalSince1970
            var times = [timespec(tv_sec: Int(seconds), tv_nsec: 0), timespec(tv_sec: Int(seconds), tv_nsec: 0)]
            _ = futimens(fd, &times)
        }
        return fd
    }

    private static let O_TMPFILE: Int32 = 0o20000000 | O_DIRECTORY

    // MARK: Takeout

    /// The album a member's folder stands for with `--album-per-folder`: its `metadata.json` title, else the folder's
    /// name (an archive's top level: the archive's name); "" for Google's `Photos from YYYY` year folders.
    static func album(of folder: String, archive: String, titles: [String: String]) -> String {
        if let title = titles[folder] { return title }
        let name = folder.split(separator: "/").last.map(String.init) ?? ((archive as NSString).lastPathComponent as NSString).deletingPathExtension
        if name.wholeMatch(of: /Photos from [0-9]{4}/) != nil { return "" }
        return name
    }

    /// The `title` of a Takeout album's `metadata.json`.
    static func albumTitle(_ data: Data) -> String? {
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let title = (json["title"] as? String)?.trimmingCharacters(in: .whitespacesAndNewlines), !title.isEmpty else { return nil }
        return title
    }

    /// Whether `--exclude` leaves out the member at `path` (or a folder it is in), by the same rules as a walk's.
    static func excluded(_ path: String, by exclusions: Exclusions) -> Bool {
        guard !exclusions.isEmpty else { return false }
        let parts = path.split(separator: "/").map { ArraySlice(Array($0.utf8)) }
        for depth in 1..<(parts.count + 1) where exclusions.excludes(Array(parts[..<depth]), isFolder: depth < parts.count) {
            return true
        }
        return false
    }
}
