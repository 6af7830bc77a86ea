import FileSystem
/// What to export, and where.
public struct ExportOptions: Sendable {
    /// The export folder; created when missing.
    public var target: String
    /// Only this album (a user album's name); nil for every album and Uncategorized.
    public var album: String?
    /// Files written at once.
    public var jobs: Int
    /// The target's file system when it is not to be found out (`TargetFileSystem.of`): for tests.
    var fileSystem: TargetFileSystem?

    public init(target: String, album: String? = nil, jobs: Int = 4) {
        self.target = target
        self.album = album
        self.jobs = max(1, jobs)
    }
}

/// What happened to one exported (or trashed) file.
public struct ExportOutcome: Sendable, Codable {
    public enum Status: String, Sendable, Codable {
        case exported
        /// Found complete in its place, left by an interrupted run, and recognised by its size and BLAKE2b.
        case adopted
        /// Gone from the library, or from its album, since the last export: moved into the album folder's Trash.
        case trashed
        case failed
    }

    /// Relative to the export folder (for a trashed file: where it is now).
    public var path: String
    public var itemId: String
    /// The album's name; nil for Uncategorized.
    public var album: String?
    public var status: Status
    public var bytes: Int64
    /// Why the file failed.
    public var reason: String?
}

/// A name that export had to change because the target's file system cannot hold it, or because another file (or
/// album) in the same folder has it. Printed as `original → written (why)`.
public struct ExportRename: Sendable, Codable, Equatable, CustomStringConvertible {
    /// The file's (or album's) name in the library, escaped for printing (`BytePath.escaped`).
    public var original: String
    /// Where it was written, relative to the export folder, escaped for printing.
    public var written: String
    public var why: String
    /// An album's folder rather than a file.
    public var album: Bool

    init(original: [UInt8], written: [UInt8], why: [String], isAlbum: Bool) {
        self.original = BytePath.escaped(original)
        self.written = BytePath.escaped(written)
        self.why = why.joined(separator: "; ")
        album = isAlbum
    }

    public var description: String { "\(album ? "album " : "")\(original) → \(written) (\(why))" }
}

/// Receives the export's progress, from the exporting thread.
public protocol ExportObserver: Sendable {
    /// What is left to do, once known.
    func planned(files: Int, bytes: Int64)
    /// `path` is relative to the export folder.
    func started(exporting path: String)
    func wrote(bytes: Int64)
    func finished(_ outcome: ExportOutcome)
    /// An outcome outside the files counted by `planned`: a file moved to Trash, a sidecar that could not be restored.
    func reported(_ outcome: ExportOutcome)
}

public struct ExportSummary: Sendable {
    public var outcomes: [ExportOutcome] = []
    /// Files of the library that an earlier run had already exported.
    public var alreadyExported = 0
    /// Temporary files of interrupted runs that were removed.
    public var partialsRemoved = 0
    public var seconds = 0.0
    /// Bytes of originals decrypted and written.
    public var bytesWritten: Int64 = 0
    /// The export folder's file system, which says what names it can hold.
    public var fileSystem = ""
    /// The names this run wrote differently from the library's: album folders first, then files by path.
    public var renamed: [ExportRename] = []

    public func count(_ status: ExportOutcome.Status) -> Int { outcomes.count { $0.status == status } }
    public var failures: [ExportOutcome] { outcomes.filter { $0.status == .failed } }
}
