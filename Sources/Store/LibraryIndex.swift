import FileSystem
import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// The file at the index's place is not a usable index of this library (empty, damaged, foreign): it is moved
/// aside and the index rebuilt from the store, which is the truth.
struct IndexDamage: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

/// The library's SQLite index (WAL): albums, items, originals, and the journal of every object written,
/// so that a run killed at any point can be finished or cleaned up by the next one.
public final class LibraryIndex: Sendable {
    let pool: DatabasePool

    /// The life of an object in the store: `pending` while being written, `stored` once durable,
    /// `committed` when the item that owns it is committed. Anything not committed after a crash is an orphan.
    enum ObjectState: String { case pending, stored, committed }

    /// Opens (or creates) the index at `path`. An existing file must be a sound SQLite database holding a keepsake
    /// index, or `IndexDamage` says why not; any other failure (busy, I/O, disk full) is `corruptIndex`.
    init(path: String) throws {
        let isNew = !FileManager.default.fileExists(atPath: path)
        if !isNew, let size = try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int, size == 0 {
            throw IndexDamage(reason: "the file is empty")
        }
        do {
            var configuration = Configuration()
            configuration.busyMode = .timeout(30)
            pool = try DatabasePool(path: path, configuration: configuration)
            // The index reveals which albums and files a library has: only its owner may read it. SQLite gives the
            // -wal and -shm files the main file's mode.
            for suffix in ["", "-wal", "-shm"] { chmod(path + suffix, 0o600) }
            if !isNew { try pool.read(Self.checkSound) }
            try Self.migrator.migrate(pool)
        } catch let error as IndexDamage {
            throw error
        } catch let error as DatabaseError where [.SQLITE_CORRUPT, .SQLITE_NOTADB].contains(error.resultCode) {
            throw IndexDamage(reason: "\(error)")
        } catch {
            throw LibraryError.corruptIndex("\(path): \(error)")
        }
    }

    /// An existing index must pass SQLite's own check and hold the tables keepsake made.
    private static func checkSound(_ db: Database) throws {
        let check = try String.fetchAll(db, sql: "PRAGMA quick_check")
        guard check == ["ok"] else { throw IndexDamage(reason: "SQLite finds it damaged: \(check.prefix(3).joined(separator: "; "))") }
        guard try db.tableExists("grdb_migrations"),
              try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations").contains("v1"),
              try db.tableExists("items"), try db.tableExists("objects") else {
            throw IndexDamage(reason: "it is not a keepsake index")
        }
    }

    /// The library the index describes, recorded when it was made; nil in an index made before it was recorded.
    func identity() throws -> String? {
        try read { db in try String.fetchOne(db, sql: "SELECT identity FROM library") }
    }

    /// Records which library the index describes and this folder's writer id (kept when already recorded).
    func record(identity: String, writer: String, folder: String) throws {
        try write { db in
            try db.execute(sql: "DELETE FROM library WHERE rowid NOT IN (SELECT rowid FROM library LIMIT 1)")
            if try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM library") == 0 {
                try db.execute(sql: "INSERT INTO library (identity, writer, folder) VALUES (?, ?, ?)", arguments: [identity, writer, folder])
            } else {
                try db.execute(sql: "UPDATE library SET identity = ?, writer = ?, folder = ?", arguments: [identity, writer, folder])
            }
        }
    }

    /// The wrapped key of one album, to tell whether an index without a recorded identity is this library's.
    func anyAlbumKey() throws -> Data? {
        try read { db in try Data.fetchOne(db, sql: "SELECT wrappedKey FROM albums ORDER BY createdAt, id LIMIT 1") }
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE albums (
                    id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL,
                    wrappedKey BLOB NOT NULL, createdAt DATETIME NOT NULL);
                CREATE INDEX albums_name ON albums(kind, name);
                CREATE TABLE items (
                    id TEXT PRIMARY KEY, type TEXT NOT NULL, dedupHash TEXT NOT NULL UNIQUE,
                    createdAt DATETIME NOT NULL, deletedAt DATETIME, metadataJSON TEXT, metadataObject TEXT,
                    thumbnailObject TEXT, streamObject TEXT, playlistObject TEXT, stageProblems TEXT);
                CREATE TABLE albumItems (
                    albumId TEXT NOT NULL REFERENCES albums(id) ON DELETE CASCADE,
                    itemId TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
                    wrappedFileKey BLOB NOT NULL, addedAt DATETIME NOT NULL, PRIMARY KEY (albumId, itemId));
                CREATE INDEX albumItems_item ON albumItems(itemId);
                CREATE TABLE originals (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    itemId TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
                    role TEXT NOT NULL, name TEXT NOT NULL, sourcePath TEXT NOT NULL, size INTEGER NOT NULL,
                    blake2b TEXT NOT NULL, mimeType TEXT NOT NULL, objectName TEXT NOT NULL);
                CREATE INDEX originals_item ON originals(itemId);
                CREATE INDEX originals_hash ON originals(blake2b);
                CREATE TABLE objects (name TEXT PRIMARY KEY, state TEXT NOT NULL, itemId TEXT);
                CREATE TABLE sourceFiles (
                    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtimeNanoseconds INTEGER NOT NULL,
                    inode INTEGER NOT NULL, itemId TEXT NOT NULL);
                CREATE TABLE failedFiles (path TEXT PRIMARY KEY, stage TEXT NOT NULL, reason TEXT NOT NULL, at DATETIME NOT NULL);
                """)
        }
        migrator.registerMigration("v2-watches", migrate: createWatchTables)
        migrator.registerMigration("v3-identity") { db in
            try db.execute(sql: "CREATE TABLE library (identity TEXT NOT NULL)")
        }
        migrator.registerMigration("v4-object-digests") { db in
            try db.execute(sql: """
                CREATE TABLE itemObjects (
                    itemId TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE, name TEXT NOT NULL PRIMARY KEY,
                    role TEXT NOT NULL, size INTEGER NOT NULL, blake2b TEXT NOT NULL);
                CREATE INDEX itemObjects_item ON itemObjects(itemId);
                """)
        }
        registerLogMigration(&migrator)
        registerAlbumEditMigration(&migrator)
        registerLivePhotoMigration(&migrator)
        migrator.registerMigration("v7-renditions") { db in
            try db.execute(sql: "ALTER TABLE items ADD COLUMN renditionObject TEXT")
        }
        registerWatchExclusionMigration(&migrator)
        registerSharedMigration(&migrator)
        return migrator
    }

    func read<T>(_ body: (Database) throws -> T) throws(LibraryError) -> T {
        do { return try pool.read(body) } catch { throw .corruptIndex("\(error)") }
    }

    /// A write; SQLite failing for a reason no later write can escape (the disk or the index file full, read-only,
    /// damaged or gone) is `LibraryError.corruptIndex`, which ends a run rather than costing one file.
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try pool.write(body) } catch let error as DatabaseError where Self.unusableIndexCodes.contains(error.resultCode) {
            throw LibraryError.corruptIndex("\(error)")
        }
    }

    private static let unusableIndexCodes: [ResultCode] = [.SQLITE_FULL, .SQLITE_IOERR, .SQLITE_CORRUPT, .SQLITE_NOTADB,
                                                               .SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_PERM]

    // MARK: Object ledger

    func recordObject(_ name: ObjectName, as state: ObjectState) throws {
        try write { db in
            try db.run("INSERT INTO objects (name, state) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET state = excluded.state",
                       [name.path, state.rawValue])
        }
    }

    func forget(_ names: [ObjectName]) throws {
        try write { db in
            for name in names { try db.execute(sql: "DELETE FROM objects WHERE name = ?", arguments: [name.path]) }
        }
    }

    /// Objects written by runs that never committed them.
    func uncommittedObjects() throws(LibraryError) -> [ObjectName] {
        try read { db in
            try String.fetchAll(db, sql: "SELECT name FROM objects WHERE state != 'committed'").compactMap { try? ObjectName($0) }
        }
    }

    // MARK: Queries

    /// Every item deleted or not, for `verify`: a deleted item's objects are kept and are not orphans.
    public func allItems() throws(LibraryError) -> [ItemRecord] {
        try read { db in try ItemRecord.order(Column("createdAt"), Column("id")).fetchAll(db) }
    }

    /// The live items, or those of the user album(s) named `album`, or with `AlbumRecord.uncategorizedName` those in
    /// no user album.
    public func items(inAlbum album: String? = nil) throws(LibraryError) -> [ItemRecord] {
        try read { db in
            if album == AlbumRecord.uncategorizedName {
                return try ItemRecord.fetchAll(db, sql: """
                    SELECT * FROM items WHERE deletedAt IS NULL AND \(Self.inNoUserAlbum) ORDER BY createdAt, id
                    """)
            }
            if let album {
                return try ItemRecord.fetchAll(db, sql: """
                    SELECT DISTINCT items.* FROM items JOIN albumItems ON albumItems.itemId = items.id
                    JOIN albums ON albums.id = albumItems.albumId
                    WHERE albums.kind = 'user' AND albums.name = ? AND items.deletedAt IS NULL ORDER BY items.createdAt, items.id
                    """, arguments: [album])
            }
            return try ItemRecord.fetchAll(db, sql: "SELECT * FROM items WHERE deletedAt IS NULL ORDER BY createdAt, id")
        }
    }

    /// The live photos and Live Photos without a rendition (`Library.itemsMissingRenditions` picks those that need one).
    func itemsWithoutRendition() throws(LibraryError) -> [ItemRecord] {
        try read { db in
            try ItemRecord.fetchAll(db, sql: """
                SELECT * FROM items WHERE deletedAt IS NULL AND renditionObject IS NULL AND type != 'video' ORDER BY createdAt, id
                """)
        }
    }

    public func item(id: String) throws(LibraryError) -> ItemRecord? {
        try read { db in try ItemRecord.fetchOne(db, key: id) }
    }

    /// The digest recorded for the object `name` when it was stored; nil for an object stored before objects had digests.
    public func digest(of name: String) throws(LibraryError) -> ObjectDigest? {
        try read { db in try ObjectDigest.fetchOne(db, key: name) }
    }

    /// The digests of every object of `itemId`; empty for an item stored before objects had digests.
    public func digests(of itemId: String) throws(LibraryError) -> [ObjectDigest] {
        try read { db in try ObjectDigest.filter(Column("itemId") == itemId).order(Column("role"), Column("name")).fetchAll(db) }
    }

    public func originals(of itemId: String) throws(LibraryError) -> [OriginalRecord] {
        try read { db in try OriginalRecord.filter(Column("itemId") == itemId).order(Column("id")).fetchAll(db) }
    }

    /// The user albums an item is in, by name.
    public func albumNames(of itemId: String) throws(LibraryError) -> [String] {
        try read { db in
            try String.fetchAll(db, sql: """
                SELECT DISTINCT albums.name FROM albums JOIN albumItems ON albumItems.albumId = albums.id
                WHERE albumItems.itemId = ? AND albums.kind = 'user' ORDER BY albums.name
                """, arguments: [itemId])
        }
    }

    public func failedFiles() throws(LibraryError) -> [FailedFileRecord] {
        try read { db in try FailedFileRecord.order(Column("path")).fetchAll(db) }
    }

    /// A source file as the last run that took it left it, with what the fast path of a re-run needs.
    public struct KnownSourceFile: Sendable {
        public var record: SourceFileRecord
        public var itemType: ItemType
        public var mimeType: String?
        public var isDeleted: Bool
        /// The albums the item is in, as `AlbumTarget`s.
        public var albums: Set<AlbumTarget>
    }

    /// The sizes of the originals the index holds (of every item, deleted ones too: their bytes may come again).
    public func originalSizes() throws(LibraryError) -> Set<Int64> {
        try read { db in Set(try Int64.fetchAll(db, sql: "SELECT DISTINCT size FROM originals")) }
    }

    /// Every known source file by path, read in one query at the start of a run, so that a re-run over many
    /// unchanged files touches the index once rather than once a file.
    public func knownSourceFiles() throws(LibraryError) -> [BytePath: KnownSourceFile] {
        try read { db in
            var known: [BytePath: KnownSourceFile] = [:]
            let rows = try Row.fetchCursor(db, sql: """
                SELECT s.*, i.type, i.deletedAt, o.mimeType,
                       (SELECT group_concat(a.kind || ':' || a.name, char(31)) FROM albumItems ai
                        JOIN albums a ON a.id = ai.albumId WHERE ai.itemId = s.itemId) AS albums
                FROM sourceFiles s JOIN items i ON i.id = s.itemId
                LEFT JOIN originals o ON o.itemId = s.itemId AND o.sourcePath = s.path
                GROUP BY s.path
                """)
            while let row = try rows.next() {
                let albums = (row["albums"] as String?)?.split(separator: "\u{1F}").map { entry -> AlbumTarget in
                    entry.hasPrefix("uncategorized:") ? .uncategorized : .named(String(entry.dropFirst("user:".count)))
                } ?? []
                let record = try SourceFileRecord(row: row)
                known[record.path] = KnownSourceFile(record: record, itemType: row["type"], mimeType: row["mimeType"],
                                                     isDeleted: row["deletedAt"] as Date? != nil, albums: Set(albums))
            }
            return known
        }
    }

    public func sourceFile(at path: BytePath) throws(LibraryError) -> SourceFileRecord? {
        try read { db in try SourceFileRecord.fetchOne(db, key: path) }
    }

    public func recordFailure(path: BytePath, stage: String, reason: String) throws {
        try write { db in try FailedFileRecord(path: path, stage: stage, reason: reason, at: Date()).save(db) }
    }

    public struct Counts: Sendable {
        public var items = 0, images = 0, videos = 0, livePhotos = 0, motionPhotos = 0
        public var albums = 0, originalsBytes: Int64 = 0, itemsMissingDerived = 0, uncommittedObjects = 0
    }

    public func counts() throws(LibraryError) -> Counts {
        try read { db in
            var counts = Counts()
            for row in try Row.fetchAll(db, sql: "SELECT type, COUNT(*) AS n FROM items WHERE deletedAt IS NULL GROUP BY type") {
                let n: Int = row["n"]
                counts.items += n
                switch ItemType(rawValue: row["type"]) {
                case .image: counts.images = n
                case .video: counts.videos = n
                case .livePhoto: counts.livePhotos = n
                case .motionPhoto: counts.motionPhotos = n
                case nil: break
                }
            }
            counts.albums = try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT name) FROM albums WHERE kind = 'user'") ?? 0
            counts.originalsBytes = try Int64.fetchOne(db, sql: """
                SELECT COALESCE(SUM(size), 0) FROM originals JOIN items ON items.id = originals.itemId WHERE items.deletedAt IS NULL
                """) ?? 0
            counts.itemsMissingDerived = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM items WHERE deletedAt IS NULL AND stageProblems IS NOT NULL AND stageProblems != '[]'
                """) ?? 0
            counts.uncommittedObjects = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM objects WHERE state != 'committed'") ?? 0
            return counts
        }
    }
}

extension LibraryIndex {
    /// The originals of live items with the plaintext BLAKE2b-512 `hash` and `size` (`free-up`).
    func liveOriginals(blake2b hash: String, size: Int64) throws(LibraryError) -> [OriginalRecord] {
        try read { db in
            try OriginalRecord.fetchAll(db, sql: """
                SELECT originals.* FROM originals JOIN items ON items.id = originals.itemId
                WHERE originals.blake2b = ? AND originals.size = ? AND items.deletedAt IS NULL ORDER BY originals.id
                """, arguments: [hash, size])
        }
    }
}
