import Foundation
import GRDB
import KeepsakeCrypto

/// One change to the library, kept in the store as an object `index/<random>` encrypted with the master key,
/// so that the index can be rebuilt on a new machine from the store and the passphrase alone (SPEC 6).
///
/// Entries never change once written and carry random names, so two machines writing to one store never
/// overwrite each other: the index is the union of all entries, replayed in time order.
struct JournalEntry: Codable {
    struct Membership: Codable {
        var albumId: String
        var wrappedFileKey: Data
    }

    enum Change: Codable {
        case album(AlbumRecord)
        case item(ItemRecord, originals: [OriginalRecord], memberships: [Membership], objects: [String])
        case membership(itemId: String, Membership)
        case deletion(itemId: String)
        /// A deleted item taken back by `ingest --reupload-deleted`.
        case restoration(itemId: String)
        /// An item taken out of an album (its watched file was deleted or replaced); `uncategorized` is its
        /// membership of Uncategorized when the album was its last one, so that its file key stays readable.
        case albumRemoval(itemId: String, albumId: String, uncategorized: Membership?)
    }

    var time: Date
    var change: Change
    /// For an item: every object it owns, with its role, size and BLAKE2b as stored. Absent from entries written
    /// before objects had digests (format 1 allows both; older readers ignore the key).
    var objectDigests: [ObjectDigest]? = nil

    /// An entry is a few KiB (an item with its originals); a bigger one is refused unread, as damaged.
    static let maxByteCount = 16 << 20

    static func newName() -> ObjectName { try! ObjectName("index/" + ObjectID.random().hex) }

    func sealed(with key: SecretKey) throws -> [UInt8] {
        try SealingStream.seal(Array(try JSONEncoder().encode(self)), key: key)
    }

    static func open(_ bytes: [UInt8], key: SecretKey) throws -> JournalEntry {
        try JSONDecoder().decode(JournalEntry.self, from: Data(try OpeningStream.open(bytes, key: key)))
    }

    /// The store objects this entry makes part of the library.
    var referencedObjects: [String] {
        guard case .item(let item, let originals, _, let objects) = change else { return [] }
        return objects + originals.map(\.objectName)
            + [item.metadataObject, item.thumbnailObject, item.streamObject, item.playlistObject].compactMap { $0 }
    }

    /// Applies the entry to the index; replaying an entry twice changes nothing.
    func apply(_ db: Database, entryName: String) throws {
        switch change {
        case .album(let album):
            try album.insert(db, onConflict: .ignore)
        case .item(let item, let originals, let memberships, let objects):
            // Two machines may have stored the same bytes into one store: the earlier item wins, and the later
            // one's objects are left unreferenced, for `verify --repair` to remove.
            guard try ItemRecord.fetchOne(db, key: item.id) == nil,
                  try ItemRecord.filter(Column("dedupHash") == item.dedupHash).fetchCount(db) == 0 else { break }
            try item.insert(db)
            for original in originals { try original.insert(db) }
            for membership in memberships { try Self.insert(db, membership, itemId: item.id, at: time) }
            for object in objects {
                try db.execute(sql: "INSERT OR REPLACE INTO objects (name, state, itemId) VALUES (?, 'committed', ?)",
                               arguments: [object, item.id])
            }
            for digest in objectDigests ?? [] where digest.itemId == item.id { try digest.insert(db, onConflict: .replace) }
        case .membership(let itemId, let membership):
            if try ItemRecord.exists(db, key: itemId) { try Self.insert(db, membership, itemId: itemId, at: time) }
        case .deletion(let itemId):
            try db.execute(sql: "UPDATE items SET deletedAt = ? WHERE id = ? AND deletedAt IS NULL", arguments: [time, itemId])
        case .restoration(let itemId):
            try Self.restore(db, itemId: itemId)
        case .albumRemoval(let itemId, let albumId, let uncategorized):
            if let uncategorized { try Self.insert(db, uncategorized, itemId: itemId, at: time) }
            try db.execute(sql: "DELETE FROM albumItems WHERE albumId = ? AND itemId = ?", arguments: [albumId, itemId])
        }
        try db.execute(sql: "INSERT OR REPLACE INTO objects (name, state) VALUES (?, 'committed')", arguments: [entryName])
    }

    static func restore(_ db: Database, itemId: String) throws {
        try db.execute(sql: "UPDATE items SET deletedAt = NULL WHERE id = ?", arguments: [itemId])
    }

    static func insert(_ db: Database, _ membership: Membership, itemId: String, at time: Date) throws {
        try db.execute(sql: "INSERT OR IGNORE INTO albumItems (albumId, itemId, wrappedFileKey, addedAt) VALUES (?, ?, ?, ?)",
                       arguments: [membership.albumId, itemId, membership.wrappedFileKey, time])
    }
}
