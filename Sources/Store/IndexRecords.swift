import FileSystem
import Foundation
import GRDB
import MediaTypes

/// What a library item is (SPEC 1, `ls --json` `type`).
public enum ItemType: String, Codable, Sendable, DatabaseValueConvertible {
    case image, video, livePhoto, motionPhoto
}

/// An album row. Every item belongs to at least one album; files ingested without one go to the album of
/// kind `uncategorized`, which `ls` does not name. Ids are random, so albums made on two machines never clash.
public struct AlbumRecord: Codable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "albums"
    public enum Kind: String, Codable, Sendable { case user, uncategorized }
    public var id: String
    public var name: String
    public var kind: Kind
    public var wrappedKey: Data
    public var createdAt: Date
    /// When its name was last changed by `album rename` (nil: never); the later rename of two made at once wins.
    public var renamedAt: Date?
}

public struct ItemRecord: Codable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "items"
    public var id: String
    public var type: ItemType
    /// BLAKE2b-512 hex of the original (a Live Photo: `imageHash:videoHash`).
    public var dedupHash: String
    public var createdAt: Date
    public var deletedAt: Date?
    /// The metadata JSON, kept in the local index for `ls`; its encrypted copy is `metadataObject`.
    public var metadataJSON: String?
    public var metadataObject: String?
    public var thumbnailObject: String?
    public var streamObject: String?
    public var playlistObject: String?
    /// JSON list of `StageProblem`: the derived media that could not be produced, and why.
    public var stageProblems: String?
    /// A JPEG of the photo at a long edge of up to 2048 px, for a format browsers do not show (HEIC, RAW, TIFF);
    /// nil for other items and for those stored before renditions existed (absent from their records).
    public var renditionObject: String?
}

extension ItemRecord {
    /// `metadataJSON` decoded; nil when the item has none or it does not decode.
    public var metadata: MediaMetadata? {
        metadataJSON.flatMap { try? JSONDecoder().decode(MediaMetadata.self, from: Data($0.utf8)) }
    }

    /// `stageProblems` decoded: the derived media that were not produced, and why.
    public var problems: [StageProblem] {
        stageProblems.flatMap { try? JSONDecoder().decode([StageProblem].self, from: Data($0.utf8)) } ?? []
    }
}

public struct OriginalRecord: Codable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "originals"
    public var id: Int64?
    public var itemId: String
    /// `main`, or `still` / `video` for the two halves of a Live Photo.
    public var role: String
    /// The file's name and path as the file system had them, byte for byte (see `BytePath`'s database value).
    public var name: BytePath
    public var sourcePath: BytePath
    public var size: Int64
    public var blake2b: String
    public var mimeType: String
    public var objectName: String

    public init(id: Int64? = nil, itemId: String, role: String, name: BytePath, sourcePath: BytePath, size: Int64,
                blake2b: String, mimeType: String, objectName: String) {
        self.id = id
        self.itemId = itemId
        self.role = role
        self.name = name
        self.sourcePath = sourcePath
        self.size = size
        self.blake2b = blake2b
        self.mimeType = mimeType
        self.objectName = objectName
    }
}

/// A file that could not be ingested in the latest run that saw it (`keepsake status`), or that the walk skipped as
/// not a regular file (`stage` `skipped`: FIFOs, sockets, devices, a symlink back to a folder already walked).
public struct FailedFileRecord: Codable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "failedFiles"
    public var path: BytePath
    public var stage: String
    public var reason: String
    public var at: Date

    /// The `stage` of what discovery skipped as not a regular file: listed by `status`, but not a failure.
    public static let skippedStage = "skipped"
    public var isSkip: Bool { stage == Self.skippedStage }
}

/// Identity of a source file when it was last ingested, so an unchanged file is recognised without reading it.
public struct SourceFileRecord: Codable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "sourceFiles"
    public var path: BytePath
    public var size: Int64
    public var mtimeNanoseconds: Int64
    public var inode: Int64
    public var itemId: String

    public init(path: BytePath, size: Int64, mtimeNanoseconds: Int64, inode: Int64, itemId: String) {
        self.path = path
        self.size = size
        self.mtimeNanoseconds = mtimeNanoseconds
        self.inode = inode
        self.itemId = itemId
    }
}

extension ItemType {
    public var databaseValue: DatabaseValue { rawValue.databaseValue }
    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> ItemType? {
        String.fromDatabaseValue(dbValue).flatMap(ItemType.init(rawValue:))
    }
}

/// A path in the index: TEXT when it is valid UTF-8, as the index has always held paths; a BLOB of its exact bytes
/// when it is not. Both read back as the same bytes.
extension BytePath: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { string?.databaseValue ?? Data(bytes).databaseValue }

    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> BytePath? {
        switch dbValue.storage {
        case .string(let text): BytePath(text)
        case .blob(let data): BytePath(bytes: data)
        default: nil
        }
    }
}
