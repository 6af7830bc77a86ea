import Foundation
import GRDB

/// An edit that lost to another made at the same time elsewhere (see docs/store-format.md, "Conflicts"), in words
/// for `sync` to print.
public struct SupersededEdit: Sendable, Equatable, CustomStringConvertible {
    /// The item the edit was about; nil for an edit of an album itself.
    public var itemId: String?
    public var reason: String

    init(itemId: String?, _ reason: String) {
        self.itemId = itemId
        self.reason = reason
    }

    public var description: String { itemId.map { "item \($0): \(reason)" } ?? reason }
}

/// What applying one change did.
struct Applied {
    /// False when it changed nothing because it lost to what the index holds (an item whose bytes another item
    /// already holds, an album deleted before).
    var changed = true
    var superseded: [SupersededEdit] = []
}

/// One line of `album ls`: a user album with its live items (albums of one name made on two machines at once are
/// one album), or Uncategorized, what is in no user album.
public struct AlbumSummary: Sendable, Equatable, Encodable {
    public var name: String
    public var items: Int
}

extension AlbumRecord {
    /// The name under which `ls`, `album ls` and export show what is in no user album; no user album may take it.
    public static let uncategorizedName = "Uncategorized"
}

/// The index's albums as `album` edits them.
extension LibraryIndex {
    static func registerAlbumEditMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("album-edits") { db in
            try db.execute(sql: """
                ALTER TABLE albums ADD COLUMN renamedAt DATETIME;
                CREATE TABLE deletedAlbums (id TEXT PRIMARY KEY, name TEXT, deletedAt DATETIME NOT NULL);
                CREATE TABLE albumItemRemovals (
                    albumId TEXT NOT NULL, itemId TEXT NOT NULL, removedAt DATETIME NOT NULL, PRIMARY KEY (albumId, itemId));
                CREATE TABLE supersededEdits (id INTEGER PRIMARY KEY AUTOINCREMENT, itemId TEXT, reason TEXT NOT NULL);
                """)
        }
    }

    /// SQL: the item `items.id` is in no user album.
    static let inNoUserAlbum = """
        NOT EXISTS (SELECT 1 FROM albumItems JOIN albums ON albums.id = albumItems.albumId
                    WHERE albumItems.itemId = items.id AND albums.kind = 'user')
        """

    /// Every user album name with its live items, by name, then Uncategorized when it holds any.
    public func albumSummaries() throws(LibraryError) -> [AlbumSummary] {
        try read { db in
            var summaries = try Row.fetchAll(db, sql: """
                SELECT albums.name, COUNT(DISTINCT items.id) AS n FROM albums
                LEFT JOIN albumItems ON albumItems.albumId = albums.id
                LEFT JOIN items ON items.id = albumItems.itemId AND items.deletedAt IS NULL
                WHERE albums.kind = 'user' GROUP BY albums.name ORDER BY albums.name
                """).map { AlbumSummary(name: $0["name"], items: $0["n"]) }
            let uncategorized = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM items WHERE deletedAt IS NULL AND \(Self.inNoUserAlbum)") ?? 0
            if uncategorized > 0 { summaries.append(AlbumSummary(name: AlbumRecord.uncategorizedName, items: uncategorized)) }
            return summaries
        }
    }

    /// The user albums named `name`, the earliest made first (two when two machines made one each at once).
    func userAlbums(named name: String) throws(LibraryError) -> [AlbumRecord] {
        try read { db in
            try AlbumRecord.fetchAll(db, sql: "SELECT * FROM albums WHERE kind = 'user' AND name = ? ORDER BY createdAt, id",
                                     arguments: [name])
        }
    }

    /// The items in the album `albumId`, deleted or not.
    func members(of albumId: String) throws(LibraryError) -> [String] {
        try read { db in try String.fetchAll(db, sql: "SELECT itemId FROM albumItems WHERE albumId = ? ORDER BY itemId", arguments: [albumId]) }
    }

    /// Keeps edits that lost until `sync` reports them.
    func recordSuperseded(_ edits: [SupersededEdit], in db: Database) throws {
        for edit in edits {
            try db.execute(sql: "INSERT INTO supersededEdits (itemId, reason) VALUES (?, ?)", arguments: [edit.itemId, edit.reason])
        }
    }

    /// The edits that lost since they were last taken, oldest first; taking them forgets them.
    func takeSupersededEdits() throws -> [SupersededEdit] {
        try write { db in
            let edits = try Row.fetchAll(db, sql: "SELECT itemId, reason FROM supersededEdits ORDER BY id").map {
                SupersededEdit(itemId: $0["itemId"], $0["reason"])
            }
            try db.execute(sql: "DELETE FROM supersededEdits")
            return edits
        }
    }
}
