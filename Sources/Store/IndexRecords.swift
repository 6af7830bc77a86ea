import Foundation
import GRDB

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
}

public struct OriginalRecord: Codable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "originals"
    public var id: Int64?
    public var itemId: String
    /// `main`, or `still` / `video` for the two halves of a Live Photo.
    public var role: String
    public var name: String
    public var sourcePath: String
    public var size: Int64
    public var blake2b: String
    public var mimeType: String
    public var objectName: String

    public init(id: Int64? = nil, itemId: String, role: String, name: String, sourcePath: String, size: Int64,
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

/// A file that could not be ingested in the latest run that saw it (`keepsake status`).
public struct FailedFileRecord: Codable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "failedFiles"
    public var path: String
    public var stage: String
    public var reason: String
    public var at: Date
}

/// Identity of a source file when it was last ingested, so an unchanged file is recognised without reading it.
public struct SourceFileRecord: Codable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "sourceFiles"
    public var path: String
    public var size: Int64
    public var mtimeNanoseconds: Int64
    public var inode: Int64
    public var itemId: String

    public init(path: String, size: Int64, mtimeNanoseconds: Int64, inode: Int64, itemId: String) {
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
