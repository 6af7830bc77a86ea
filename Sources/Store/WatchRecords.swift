import Foundation
import GRDB

/// A folder the daemon watches (SPEC 8).
public struct WatchRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "watches"
    public enum Mode: String, Codable, Sendable, CaseIterable {
        /// Everything under the folder goes into one album named after it.
        case single
        /// Each file goes into an album named after its own folder.
        case separate
    }
    /// Absolute, symlinks resolved.
    public var path: String
    public var mode: Mode
    public var addedAt: Date
    /// `watch add --exclude`: gitignore patterns rooted at the folder (JSON in the index).
    public var exclude: [String]

    public init(path: String, mode: Mode, addedAt: Date = Date(), exclude: [String] = []) {
        self.path = path
        self.mode = mode
        self.addedAt = addedAt
        self.exclude = exclude
    }

    /// True when `file` lies under this watched folder.
    public func contains(_ file: String) -> Bool { file.hasPrefix(path == "/" ? "/" : path + "/") }
}

/// A file the media workers crashed or hung on twice: the daemon leaves it alone until it changes.
public struct QuarantinedFileRecord: Codable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "quarantinedFiles"
    public var path: String
    public var size: Int64
    public var mtimeNanoseconds: Int64
    public var reason: String
    public var at: Date

    public init(path: String, size: Int64, mtimeNanoseconds: Int64, reason: String, at: Date = Date()) {
        self.path = path
        self.size = size
        self.mtimeNanoseconds = mtimeNanoseconds
        self.reason = reason
        self.at = at
    }
}

extension LibraryIndex {
    static func createWatchTables(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE watches (path TEXT PRIMARY KEY, mode TEXT NOT NULL, addedAt DATETIME NOT NULL);
            CREATE TABLE quarantinedFiles (
                path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtimeNanoseconds INTEGER NOT NULL,
                reason TEXT NOT NULL, at DATETIME NOT NULL);
            """)
    }

    static func registerWatchExclusionMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("watch-exclusions") { db in
            try db.execute(sql: "ALTER TABLE watches ADD COLUMN exclude TEXT NOT NULL DEFAULT '[]'")
        }
    }

    // MARK: Watches

    public func watches() throws(LibraryError) -> [WatchRecord] {
        try read { db in try WatchRecord.order(Column("path")).fetchAll(db) }
    }

    public func saveWatch(_ watch: WatchRecord) throws {
        try write { db in try watch.save(db) }
    }

    /// Returns false when `path` was not watched.
    public func removeWatch(path: String) throws -> Bool {
        try write { db in try WatchRecord.deleteOne(db, key: path) }
    }

    // MARK: Quarantine

    public func quarantinedFiles() throws(LibraryError) -> [QuarantinedFileRecord] {
        try read { db in try QuarantinedFileRecord.order(Column("path")).fetchAll(db) }
    }

    public func quarantine(_ file: QuarantinedFileRecord) throws {
        try write { db in try file.save(db) }
    }

    public func releaseFromQuarantine(path: String) throws {
        try write { db in _ = try QuarantinedFileRecord.deleteOne(db, key: path) }
    }

    // MARK: Source files, for the daemon

    /// The source files recorded under `folder`, to find those deleted while nobody watched.
    public func sourceFiles(under folder: String) throws(LibraryError) -> [SourceFileRecord] {
        let prefix = folder == "/" ? "/" : folder + "/"
        return try read { db in
            try SourceFileRecord.filter(Column("path") >= prefix && Column("path") < prefix + "\u{10FFFF}").fetchAll(db)
        }
    }

    public func sourceFiles(ofItem itemId: String) throws(LibraryError) -> [SourceFileRecord] {
        try read { db in try SourceFileRecord.filter(Column("itemId") == itemId).fetchAll(db) }
    }

    /// Forgets that `path` was ingested (it was deleted on disk); the item it produced stays.
    public func forgetSourceFile(path: String) throws {
        try write { db in _ = try SourceFileRecord.deleteOne(db, key: path) }
    }
}
