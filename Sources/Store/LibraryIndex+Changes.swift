import Foundation
import GRDB

/// The index as the change log sees it: applying changes, where each writer's log stands, and the library state a
/// checkpoint holds. Every statement here is the same whether a change is being written now or read back from the
/// store, so the two can never disagree.
extension LibraryIndex {
    static func registerLogMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v5-format-2") { db in
            try db.execute(sql: """
                CREATE TABLE logHeads (
                    writer TEXT PRIMARY KEY, sequence INTEGER NOT NULL, hash TEXT NOT NULL,
                    time DATETIME NOT NULL, device TEXT);
                ALTER TABLE library ADD COLUMN writer TEXT;
                ALTER TABLE library ADD COLUMN entriesSinceCheckpoint INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE items ADD COLUMN wrappedFileKey BLOB;
                CREATE TABLE unreadableObjects (name TEXT PRIMARY KEY, reason TEXT NOT NULL, seenAt DATETIME NOT NULL);
                """)
        }
    }

    // MARK: Applying changes

    /// Applies one change at `time`. Replaying a change twice changes nothing. Returns false when it changed
    /// nothing because it lost to what the index holds (an item whose bytes another item already holds).
    @discardableResult
    func apply(_ change: Change, at time: Date, in db: Database) throws -> Bool {
        switch change {
        case .album(let album):
            try album.insert(db, onConflict: .ignore)
        case .item(let state, let memberships):
            // An item recovered from its record before its log entry was read exists already: its albums still apply.
            guard try insert(state, in: db) || ItemRecord.exists(db, key: state.item.id) else { return false }
            for membership in memberships { try insert(membership, itemId: state.item.id, at: time, in: db) }
        case .membership(let itemId, let membership):
            if try ItemRecord.exists(db, key: itemId) { try insert(membership, itemId: itemId, at: time, in: db) }
        case .deletion(let itemId):
            try db.execute(sql: "UPDATE items SET deletedAt = ? WHERE id = ? AND deletedAt IS NULL", arguments: [time, itemId])
        case .restoration(let itemId):
            try db.execute(sql: "UPDATE items SET deletedAt = NULL WHERE id = ?", arguments: [itemId])
        case .albumRemoval(let itemId, let albumId, let uncategorized):
            if let uncategorized { try insert(uncategorized, itemId: itemId, at: time, in: db) }
            try db.execute(sql: "DELETE FROM albumItems WHERE albumId = ? AND itemId = ?", arguments: [albumId, itemId])
        }
        return true
    }

    /// Inserts an item unless one with its id or its (keyed) dedup hash exists: two machines may store the same bytes
    /// into one store; the item applied first stays, and the other's objects are left unreferenced for a repair.
    private func insert(_ state: ItemState, in db: Database) throws -> Bool {
        guard try ItemRecord.fetchOne(db, key: state.item.id) == nil,
              try ItemRecord.filter(Column("dedupHash") == state.item.dedupHash).fetchCount(db) == 0 else { return false }
        try state.item.insert(db)
        try db.execute(sql: "UPDATE items SET wrappedFileKey = ? WHERE id = ?", arguments: [state.wrappedFileKey, state.item.id])
        for original in state.originals { try original.insert(db) }
        for name in state.referencedObjects {
            try db.execute(sql: "INSERT OR REPLACE INTO objects (name, state, itemId) VALUES (?, 'committed', ?)",
                           arguments: [name, state.item.id])
        }
        for digest in state.objects where digest.itemId == state.item.id { try digest.insert(db, onConflict: .replace) }
        return true
    }

    /// A membership of an album or item the index does not hold is not applied: the entry that made it is lost (a
    /// reported gap), and the album's key with it. The item stays readable through its own wrapped file key.
    private func insert(_ membership: Membership, itemId: String, at time: Date, in db: Database) throws {
        try db.execute(sql: """
            INSERT OR IGNORE INTO albumItems (albumId, itemId, wrappedFileKey, addedAt) SELECT ?, ?, ?, ?
            WHERE EXISTS (SELECT 1 FROM albums WHERE id = ?) AND EXISTS (SELECT 1 FROM items WHERE id = ?)
            """, arguments: [membership.albumId, itemId, membership.wrappedFileKey, time, membership.albumId, itemId])
    }

    // MARK: Where the logs stand

    /// This folder's writer id, made when the index was.
    func writer() throws -> String? {
        try read { db in try String.fetchOne(db, sql: "SELECT writer FROM library") }
    }

    func heads(_ db: Database) throws -> [String: LogHead] {
        var heads: [String: LogHead] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT * FROM logHeads") {
            heads[row["writer"]] = LogHead(sequence: UInt64(row["sequence"] as Int64), hash: row["hash"], time: row["time"], device: row["device"])
        }
        return heads
    }

    func heads() throws -> [String: LogHead] { try read { db in try heads(db) } }

    /// Records that `writer`'s entry `head` is applied, and counts it towards the next checkpoint.
    func advance(writer: String, to head: LogHead, in db: Database) throws {
        try db.execute(sql: """
            INSERT INTO logHeads (writer, sequence, hash, time, device) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(writer) DO UPDATE SET sequence = excluded.sequence, hash = excluded.hash, time = excluded.time,
                device = COALESCE(excluded.device, logHeads.device)
            """, arguments: [writer, Int64(head.sequence), head.hash, head.time, head.device])
        try db.execute(sql: "UPDATE library SET entriesSinceCheckpoint = entriesSinceCheckpoint + 1")
    }

    func entriesSinceCheckpoint() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT entriesSinceCheckpoint FROM library") ?? 0 }
    }

    func resetEntriesSinceCheckpoint() throws {
        try write { db in try db.execute(sql: "UPDATE library SET entriesSinceCheckpoint = 0") }
    }

    /// Records that the format-1 journal entry `name` is applied.
    func recordJournalEntry(_ name: String, in db: Database) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO objects (name, state) VALUES (?, 'committed')", arguments: [name])
    }

    /// The format-1 journal entries applied to this index.
    func journalEntries(_ db: Database) throws -> [String] {
        try String.fetchAll(db, sql: "SELECT name FROM objects WHERE name LIKE 'index/%' AND state = 'committed' ORDER BY name")
    }

    func journalEntries() throws -> Set<String> { Set(try read { db in try journalEntries(db) }) }

    /// Store objects of the log (entries, records, checkpoints) that did not open or parse, so that a pull reports
    /// each once rather than on every command; `verify` checks them all again.
    func unreadableObjects() throws -> Set<String> {
        Set(try read { db in try String.fetchAll(db, sql: "SELECT name FROM unreadableObjects") })
    }

    func recordUnreadable(_ name: String, reason: String) throws {
        try write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO unreadableObjects (name, reason, seenAt) VALUES (?, ?, ?)",
                           arguments: [name, reason, Date()])
        }
    }

    // MARK: Checkpoints

    /// The library state, in parts of at most `CheckpointPart.itemsPerPart` items, read in one transaction so the
    /// parts agree with each other and with the heads.
    func checkpointParts(time: Date) throws -> [CheckpointPart] {
        try read { db in
            let ids = try String.fetchAll(db, sql: "SELECT id FROM items ORDER BY id")
            let chunks = stride(from: 0, to: max(ids.count, 1), by: CheckpointPart.itemsPerPart).map {
                Array(ids[$0..<min($0 + CheckpointPart.itemsPerPart, ids.count)])
            }
            var parts: [CheckpointPart] = []
            for (number, chunk) in chunks.enumerated() {
                var part = CheckpointPart(time: time, items: try chunk.map { try checkpointItem($0, in: db) })
                if number == 0 {
                    part.heads = try heads(db)
                    part.journalEntries = try journalEntries(db)
                    part.albums = try AlbumRecord.order(Column("id")).fetchAll(db)
                }
                parts.append(part)
            }
            return parts
        }
    }

    private func checkpointItem(_ id: String, in db: Database) throws -> CheckpointItem {
        guard var item = try ItemRecord.fetchOne(db, key: id) else { throw LibraryError.corruptIndex("item \(id) vanished") }
        let deletedAt = item.deletedAt
        item.deletedAt = nil
        let wrapped = try Data.fetchOne(db, sql: "SELECT wrappedFileKey FROM items WHERE id = ?", arguments: [id])
        let originals = try OriginalRecord.filter(Column("itemId") == id).order(Column("id")).fetchAll(db).map { original in
            var original = original
            original.id = nil
            return original
        }
        let memberships = try Row.fetchAll(db, sql: "SELECT * FROM albumItems WHERE itemId = ? ORDER BY albumId", arguments: [id]).map {
            TimedMembership(membership: Membership(albumId: $0["albumId"], wrappedFileKey: $0["wrappedFileKey"]), addedAt: $0["addedAt"])
        }
        let objects = try ObjectDigest.filter(Column("itemId") == id).order(Column("name")).fetchAll(db)
        return CheckpointItem(state: ItemState(item: item, originals: originals, objects: objects, wrappedFileKey: wrapped),
                              deletedAt: deletedAt, memberships: memberships)
    }

    /// Applies one part of a checkpoint (inside the caller's transaction).
    func apply(_ part: CheckpointPart, in db: Database) throws {
        for album in part.albums ?? [] { try album.insert(db, onConflict: .ignore) }
        for (writer, head) in part.heads ?? [:] {
            try db.execute(sql: """
                INSERT INTO logHeads (writer, sequence, hash, time, device) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(writer) DO UPDATE SET sequence = excluded.sequence, hash = excluded.hash, time = excluded.time,
                    device = excluded.device WHERE excluded.sequence > logHeads.sequence
                """, arguments: [writer, Int64(head.sequence), head.hash, head.time, head.device])
        }
        for name in part.journalEntries ?? [] { try recordJournalEntry(name, in: db) }
        for entry in part.items {
            guard try insert(entry.state, in: db) else { continue }
            if let deletedAt = entry.deletedAt {
                try db.execute(sql: "UPDATE items SET deletedAt = ? WHERE id = ?", arguments: [deletedAt, entry.state.item.id])
            }
            for timed in entry.memberships { try insert(timed.membership, itemId: entry.state.item.id, at: timed.addedAt, in: db) }
        }
    }

    // MARK: Items and keys

    /// The item's file key as wrapped by the library's item-key key; nil for an item of an index made before
    /// items held it (then only its album memberships do).
    func wrappedFileKey(of itemId: String) throws -> Data? {
        try read { db in try Data.fetchOne(db, sql: "SELECT wrappedFileKey FROM items WHERE id = ?", arguments: [itemId]) }
    }

    func itemsWithoutOwnFileKey() throws -> [String] {
        try read { db in try String.fetchAll(db, sql: "SELECT id FROM items WHERE wrappedFileKey IS NULL") }
    }

    func setWrappedFileKey(_ wrapped: Data, of itemId: String) throws {
        try write { db in try db.execute(sql: "UPDATE items SET wrappedFileKey = ? WHERE id = ?", arguments: [wrapped, itemId]) }
    }

    /// One album membership of the item (album id and the file key wrapped by that album's key).
    func anyMembership(of itemId: String) throws -> (albumId: String, wrappedAlbumKey: Data, wrappedFileKey: Data)? {
        try read { db in
            try Row.fetchOne(db, sql: """
                SELECT albumItems.albumId, albums.wrappedKey, albumItems.wrappedFileKey FROM albumItems
                JOIN albums ON albums.id = albumItems.albumId WHERE albumItems.itemId = ? ORDER BY albumItems.albumId LIMIT 1
                """, arguments: [itemId]).map { ($0["albumId"], $0["wrappedKey"], $0["wrappedFileKey"]) }
        }
    }

    func album(id: String) throws -> AlbumRecord? {
        try read { db in try AlbumRecord.fetchOne(db, key: id) }
    }

    /// The album of `kind` named `name` (the earliest made, should two machines have made one each).
    func album(kind: AlbumRecord.Kind, name: String) throws -> AlbumRecord? {
        try read { db in
            try AlbumRecord.fetchOne(db, sql: "SELECT * FROM albums WHERE kind = ? AND name = ? ORDER BY createdAt, id LIMIT 1",
                                     arguments: [kind.rawValue, name])
        }
    }

    func item(dedupHash: String) throws -> ItemRecord? {
        try read { db in try ItemRecord.filter(Column("dedupHash") == dedupHash).fetchOne(db) }
    }

    func isMember(itemId: String, albumId: String) throws -> Bool {
        try read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM albumItems WHERE albumId = ? AND itemId = ?", arguments: [albumId, itemId]) == true
        }
    }

    /// The albums an item is in: id, kind and name.
    func memberships(of itemId: String) throws -> [AlbumRecord] {
        try read { db in
            try AlbumRecord.fetchAll(db, sql: """
                SELECT albums.* FROM albumItems JOIN albums ON albums.id = albumItems.albumId WHERE albumItems.itemId = ?
                ORDER BY albums.id
                """, arguments: [itemId])
        }
    }

    /// The item as a checkpoint or record holds it.
    func itemState(_ itemId: String) throws -> ItemState? {
        try read { db in try ItemRecord.exists(db, key: itemId) ? try checkpointItem(itemId, in: db).state : nil }
    }

    func allItemIds() throws -> Set<String> {
        Set(try read { db in try String.fetchAll(db, sql: "SELECT id FROM items") })
    }

    /// Items whose dedup hash is still a plain content hash (format 1), with it.
    func plainDedupHashes() throws -> [(itemId: String, hash: String)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT id, dedupHash FROM items WHERE dedupHash NOT LIKE 'k%'").map { ($0["id"], $0["dedupHash"]) }
        }
    }

    func setDedupHashes(_ hashes: [(itemId: String, hash: String)]) throws {
        try write { db in
            for (itemId, hash) in hashes {
                try db.execute(sql: "UPDATE items SET dedupHash = ? WHERE id = ?", arguments: [hash, itemId])
            }
        }
    }

    /// Records the source files an item was made from, and clears their failures.
    func recordSources(_ sources: [SourceFileRecord], itemId: String, in db: Database) throws {
        for var source in sources {
            source.itemId = itemId
            try source.save(db)
            try db.execute(sql: "DELETE FROM failedFiles WHERE path = ?", arguments: [source.path])
        }
    }

    func recordSources(_ sources: [SourceFileRecord], itemId: String) throws {
        guard !sources.isEmpty else { return }
        try write { db in try recordSources(sources, itemId: itemId, in: db) }
    }
}
