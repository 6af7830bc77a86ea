import Foundation
import GRDB

/// A store someone shares albums from, as `shared add` recorded it.
struct SharedSourceRow: Codable, Sendable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "sharedSources"
    var url: String
    var endpoint: String?
    /// The owner's identity public key, pinned when the store was added.
    var owner: Data
    var addedAt: Date
}

/// An album shared with this library: the feed as its owner stored it, and the share key that opens it (wrapped for
/// this library). Kept when the owner stops sharing (`removedAt`): what was shared stays readable with the keys held.
struct SharedAlbumRow: Codable, Sendable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "sharedAlbums"
    var albumId: String
    var source: String
    var name: String
    var role: String
    var generation: Int
    var wrappedKey: Data
    var feed: Data
    var removedAt: Date?
    var refreshedAt: Date
}

/// The albums others share with this library (docs/sharing.md): a cache of their feeds, never part of this library's
/// own log, checkpoints or verify.
extension LibraryIndex {
    static func registerSharedMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("shared-albums") { db in
            try db.execute(sql: """
                CREATE TABLE sharedSources (url TEXT PRIMARY KEY, endpoint TEXT, owner BLOB NOT NULL, addedAt DATETIME NOT NULL);
                CREATE TABLE sharedAlbums (
                    albumId TEXT PRIMARY KEY, source TEXT NOT NULL REFERENCES sharedSources(url) ON DELETE CASCADE,
                    name TEXT NOT NULL, role TEXT NOT NULL, generation INTEGER NOT NULL, wrappedKey BLOB NOT NULL,
                    feed BLOB NOT NULL, removedAt DATETIME, refreshedAt DATETIME NOT NULL);
                """)
        }
    }

    /// Changes whenever a store or a shared album is added, refreshed or forgotten (by any process).
    func sharedStamp() throws(LibraryError) -> String {
        try read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT (SELECT COUNT(*) FROM sharedSources) AS sources, COUNT(*) AS albums,
                       CAST(MAX(refreshedAt) AS TEXT) AS refreshed, CAST(MAX(removedAt) AS TEXT) AS removed FROM sharedAlbums
                """)
            let sources: Int = row?["sources"] ?? 0, albums: Int = row?["albums"] ?? 0
            let refreshed: String = row?["refreshed"] ?? "", removed: String = row?["removed"] ?? ""
            return "\(sources),\(albums),\(refreshed),\(removed)"
        }
    }

    func sharedSources() throws(LibraryError) -> [SharedSourceRow] {
        try read { db in try SharedSourceRow.order(Column("addedAt")).fetchAll(db) }
    }

    func sharedSource(url: String) throws(LibraryError) -> SharedSourceRow? {
        try read { db in try SharedSourceRow.fetchOne(db, key: url) }
    }

    func sharedAlbumRows() throws(LibraryError) -> [SharedAlbumRow] {
        try read { db in try SharedAlbumRow.order(Column("name"), Column("albumId")).fetchAll(db) }
    }

    func addSharedSource(_ source: SharedSourceRow) throws {
        try write { db in try source.save(db) }
    }

    /// Forgets the store and every album it shared; false when it was not recorded.
    func removeSharedSource(url: String) throws -> Bool {
        try write { db in
            try db.execute(sql: "DELETE FROM sharedAlbums WHERE source = ?", arguments: [url])
            return try SharedSourceRow.deleteOne(db, key: url)
        }
    }

    /// Records what one refresh of `source` found: the albums it shares now, and, with `markRemoved`, those it no
    /// longer shares (kept, marked).
    func recordSharedAlbums(_ rows: [SharedAlbumRow], source: String, markRemoved: Bool, at time: Date) throws {
        try write { db in
            for row in rows { try row.save(db) }
            guard markRemoved else { return }
            let live = rows.map(\.albumId)
            try db.execute(sql: """
                UPDATE sharedAlbums SET removedAt = ? WHERE source = ? AND removedAt IS NULL
                AND albumId NOT IN (SELECT value FROM json_each(?))
                """, arguments: [time, source, String(decoding: try JSONEncoder().encode(live), as: UTF8.self)])
        }
    }
}
