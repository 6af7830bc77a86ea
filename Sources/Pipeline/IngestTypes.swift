import FileSystem
import MediaTypes
import Store

/// How `ingest` runs.
public struct IngestOptions: Sendable {
    public enum AlbumMode: Sendable, Equatable {
        /// Files go to Uncategorized.
        case none
        case named(String)
        /// Each file goes to an album named after its folder.
        case perFolder
    }

    public var albumMode: AlbumMode
    /// Files processed at once.
    public var jobs: Int
    /// Upload again what the user deleted from the library.
    public var reuploadDeleted: Bool
    /// Hash every file even when its path, size, mtime and inode say it is unchanged since the last run.
    public var rehash: Bool
    /// How videos' streams are encoded; nil: no streams (a video's thumbnail then comes from decoding its first second).
    public var stream: StreamOptions?
    /// How much memory the videos being transcoded at once may hold, by `StreamOptions.estimatedMemory`: two 1080p
    /// or 1440p videos fit, a 4K one goes alone (the other workers take photos meanwhile), whatever `jobs` is.
    public var streamMemoryBudget = 320 << 20
    /// Who parses and decodes the files: confined `keepsake-media` processes (`OutOfProcessMediaWork`), or this process.
    public var mediaWork: any MediaWork
    /// How long to wait for another process (the daemon) to release the library's writer lock.
    public var lockWait: Duration
    /// Polled before each file: when true, files not yet started are left for the next run.
    public var isCancelled: @Sendable () -> Bool

    public init(albumMode: AlbumMode = .none, jobs: Int, reuploadDeleted: Bool = false, rehash: Bool = false,
                stream: StreamOptions? = StreamOptions(), mediaWork: any MediaWork,
                lockWait: Duration = .zero, isCancelled: @escaping @Sendable () -> Bool = { false }) {
        self.albumMode = albumMode
        self.jobs = max(1, jobs)
        self.reuploadDeleted = reuploadDeleted
        self.rehash = rehash
        self.stream = stream
        self.mediaWork = mediaWork
        self.lockWait = lockWait
        self.isCancelled = isCancelled
    }

    func album(for file: DiscoveredFile) -> AlbumTarget {
        switch albumMode {
        case .none: .uncategorized
        case .named(let name): .named(name)
        case .perFolder: file.folderName.isEmpty ? .uncategorized : .named(file.folderName)
        }
    }
}

/// What happened to one file.
public struct FileOutcome: Sendable, Encodable {
    public enum Status: String, Sendable, Codable {
        case stored
        case duplicate
        case addedToAlbum = "added-to-album"
        case previouslyDeleted = "previously-deleted"
        /// Not a photo or video, empty, or too large: listed with the reason, nothing stored.
        case rejected
        /// Could not be read or stored.
        case failed
    }

    public var path: BytePath
    public var status: Status
    public var itemId: String?
    public var type: ItemType?
    public var mimeType: String?
    public var bytes: Int64
    /// Why the file was rejected or failed.
    public var reason: String?
    /// The derived media (metadata, thumbnail, stream) that could not be produced for a stored file.
    public var notProduced: [StageProblem]

    init(path: BytePath, status: Status, bytes: Int64, reason: String? = nil) {
        self.path = path
        self.status = status
        self.bytes = bytes
        self.reason = reason
        notProduced = []
    }

    public var isFailure: Bool { status == .failed || status == .rejected }

    private enum CodingKeys: String, CodingKey { case path, status, itemId, type, mimeType, bytes, reason, notProduced }

    /// An `ingest --json` line: the path escaped as Keepsake prints every path (`BytePath.description`).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(path.description, forKey: .path)
        try container.encode(status, forKey: .status)
        try container.encodeIfPresent(itemId, forKey: .itemId)
        try container.encodeIfPresent(type, forKey: .type)
        try container.encodeIfPresent(mimeType, forKey: .mimeType)
        try container.encode(bytes, forKey: .bytes)
        try container.encodeIfPresent(reason, forKey: .reason)
        try container.encode(notProduced, forKey: .notProduced)
    }
}

/// Receives progress from the workers; called from several threads.
public protocol IngestObserver: Sendable {
    func started(_ file: DiscoveredFile)
    func read(bytes: Int64)
    func finished(_ outcome: FileOutcome)
    /// Another process (`holder`, when known) holds the library's writer lock; the run waits for it (`IngestOptions.lockWait`).
    func waitingForLock(holder: LockHolder?)
}

extension IngestObserver {
    public func waitingForLock(holder: LockHolder?) {}
}
