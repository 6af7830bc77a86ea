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
                    time INTEGER NOT NULL, device TEXT);
                ALTER TABLE library ADD COLUMN writer TEXT;
                ALTER TABLE library ADD COLUMN entriesSinceCheckpoint INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE items ADD COLUMN wrappedFileKey BLOB;
                CREATE TABLE unreadableObjects (name TEXT PRIMARY KEY, reason TEXT NOT NULL, seenAt DATETIME NOT NULL);
                CREATE TABLE itemAliases (loser TEXT PRIMARY KEY, winner TEXT NOT NULL);
                ALTER TABLE library ADD COLUMN lastSync DATETIME;
                ALTER TABLE library ADD COLUMN folder TEXT;
                CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, change BLOB NOT NULL, time DATETIME NOT NULL);
                """)
        }
    }

    // MARK: Applying changes

    /// Applies one change at `time`. Replaying a change twice changes nothing, and two writers' changes give the
    /// same index in whichever order they are applied (the rules are in docs/store-format.md, "Conflicts").
    @discardableResult
    func apply(_ change: Change, at time: Date, in db: Database) throws -> Applied {
        switch change {
        case .album(let album):
            guard try deletedAlbum(album.id, in: db) == nil else { return Applied(changed: false) }
            try album.insert(db, onConflict: .ignore)
        case .item(let state, let memberships):
            let home = try insert(state, in: db)
            var applied = Applied(changed: home == state.item.id)
            for membership in memberships {
                // A membership wraps this item's file key: under another item's id it opens nothing, so it is kept
                // without a key (the item's own wrapped key opens it).
                applied.superseded += try insert(membership, itemId: home, at: time, keyFits: home == state.item.id, in: db)
            }
            return applied
        case .membership(let itemId, let membership):
            let home = try resolve(itemId, in: db)
            guard try itemExists(db, home) else { break }
            return Applied(superseded: try insert(membership, itemId: home, at: time, keyFits: home == itemId, in: db))
        case .deletion(let itemId):
            try db.run("UPDATE items SET deletedAt = ? WHERE id = ? AND deletedAt IS NULL", [time, try resolve(itemId, in: db)])
        case .restoration(let itemId):
            try db.run("UPDATE items SET deletedAt = NULL WHERE id = ?", [try resolve(itemId, in: db)])
        case .albumRemoval(let itemId, let albumId, let uncategorized):
            let home = try resolve(itemId, in: db)
            var applied = Applied()
            if let uncategorized {
                applied.superseded += try insert(uncategorized, itemId: home, at: time, keyFits: home == itemId, in: db)
            }
            applied.superseded += try removeMembership(itemId: home, albumId: albumId, at: time, in: db)
            return applied
        case .albumRename(let albumId, let from, let to):
            return Applied(superseded: try rename(albumId: albumId, from: from, to: to, at: time, in: db))
        case .albumDeletion(let albumId, let items):
            return Applied(superseded: try deleteAlbum(albumId, seen: Set(items), at: time, in: db))
        case .livePhotoMerge(let state, let replaced, let memberships):
            let home = try insert(state, in: db)
            let previous = try resolve(replaced, in: db)
            // The replaced item's memberships wrap its file key, which is the new item's: they fit unless either item
            // lost its bytes to another (a race between machines), whose key differs.
            try move(previous, into: home, keyFits: previous == replaced && home == state.item.id, in: db)
            var applied = Applied(changed: home == state.item.id)
            for membership in memberships {
                applied.superseded += try insert(membership, itemId: home, at: time, keyFits: home == state.item.id, in: db)
            }
            return applied
        case .rendition(let itemId, let digest):
            // Made from the item's original under its file key: an item that lost its bytes to another (whose key
            // differs) takes none, and the object is left for a repair.
            guard try resolve(itemId, in: db) == itemId, digest.itemId == itemId else { break }
            try db.run("UPDATE items SET renditionObject = ? WHERE id = ? AND renditionObject IS NULL", [digest.name, itemId])
            guard db.changesCount > 0 else { break }
            try db.run("UPDATE objects SET state = 'committed', itemId = ? WHERE name = ?", [itemId, digest.name])
            try db.run("INSERT OR REPLACE INTO itemObjects (itemId, name, role, size, blake2b) VALUES (?, ?, ?, ?, ?)",
                       [digest.itemId, digest.name, digest.role, digest.size, digest.blake2b])
        }
        return Applied()
    }

    /// Folds the item `loser` into `winner`: its albums, deletion and source files move, its id becomes an alias, and
    /// its row goes (its objects that `winner` does not name are left for a repair).
    private func move(_ loser: String, into winner: String, keyFits: Bool, in db: Database) throws {
        guard loser != winner, let old = try ItemRecord.fetchOne(db, key: loser) else { return }
        try db.run("""
            INSERT OR IGNORE INTO albumItems (albumId, itemId, wrappedFileKey, addedAt)
            SELECT albumId, ?, CASE WHEN ? THEN wrappedFileKey ELSE X'' END, addedAt FROM albumItems WHERE itemId = ?
            """, [winner, keyFits, loser])
        if let deletedAt = old.deletedAt {
            try db.run("UPDATE items SET deletedAt = ? WHERE id = ? AND deletedAt IS NULL", [deletedAt, winner])
        }
        try db.run("UPDATE sourceFiles SET itemId = ? WHERE itemId = ?", [winner, loser])
        try db.run("UPDATE itemAliases SET winner = ? WHERE winner = ?", [winner, loser])
        try db.run("INSERT OR REPLACE INTO itemAliases (loser, winner) VALUES (?, ?)", [loser, winner])
        try db.run("DELETE FROM items WHERE id = ?", [loser])
    }

    /// The id an item lives under: itself, or the item that won its bytes.
    private func resolve(_ itemId: String, in db: Database) throws -> String {
        try String.fetchOne(db.cachedStatement(sql: "SELECT winner FROM itemAliases WHERE loser = ?"), arguments: [itemId]) ?? itemId
    }

    /// Inserts an item and returns the id it lives under. Two machines may store the same bytes into one store at
    /// once: of two items with one dedup hash, the one with the smaller id wins on every machine, whichever arrives
    /// first. The loser becomes an alias of the winner (later changes naming it apply to the winner), its albums,
    /// deletion and source files move to the winner, and its objects are left for a repair.
    private func insert(_ state: ItemState, in db: Database) throws -> String {
        let id = state.item.id
        if try itemExists(db, id) { return id }
        if let winner = try String.fetchOne(db.cachedStatement(sql: "SELECT winner FROM itemAliases WHERE loser = ?"), arguments: [id]) {
            return winner
        }
        if let existing = try ItemRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM items WHERE dedupHash = ?"),
                                                  arguments: [state.item.dedupHash]) {
            if existing.id < id {
                try db.run("INSERT OR REPLACE INTO itemAliases (loser, winner) VALUES (?, ?)", [id, existing.id])
                return existing.id
            }
            // The new item takes the existing one's place. Its dedup hash is UNIQUE: the loser's is set aside until
            // `move` folds the loser in (the memberships it moves wrapped the loser's file key: kept without a key).
            try db.run("UPDATE items SET dedupHash = '~' || dedupHash WHERE id = ?", [existing.id])
            try insertRows(state, in: db)
            try move(existing.id, into: id, keyFits: false, in: db)
            return id
        }
        try insertRows(state, in: db)
        return id
    }

    /// The item's rows, by statements prepared once (a rebuild inserts every item of the library).
    private func insertRows(_ state: ItemState, in db: Database) throws {
        let item = state.item
        try db.run("""
            INSERT INTO items (id, type, dedupHash, createdAt, deletedAt, metadataJSON, metadataObject, thumbnailObject,
                               streamObject, playlistObject, stageProblems, wrappedFileKey, renditionObject)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [item.id, item.type, item.dedupHash, item.createdAt, item.deletedAt, item.metadataJSON, item.metadataObject,
                  item.thumbnailObject, item.streamObject, item.playlistObject, item.stageProblems, state.wrappedFileKey,
                  item.renditionObject])
        for original in state.originals {
            try db.run("""
                INSERT INTO originals (itemId, role, name, sourcePath, size, blake2b, mimeType, objectName)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, [original.itemId, original.role, original.name, original.sourcePath, original.size, original.blake2b,
                      original.mimeType, original.objectName])
        }
        // The objects this folder wrote for the item are committed now; the ledger keeps no row for anyone else's.
        for name in Set(state.referencedObjects).sorted() {
            try db.run("UPDATE objects SET state = 'committed', itemId = ? WHERE name = ?", [state.item.id, name])
        }
        for digest in state.objects where digest.itemId == state.item.id {
            try db.run("INSERT OR REPLACE INTO itemObjects (itemId, name, role, size, blake2b) VALUES (?, ?, ?, ?, ?)",
                       [digest.itemId, digest.name, digest.role, digest.size, digest.blake2b])
        }
    }

    /// Every alias: an item that lost its bytes to another, and the winner.
    func aliases(_ db: Database) throws -> [String: String] {
        Dictionary(try Row.fetchAll(db, sql: "SELECT loser, winner FROM itemAliases").map { ($0["loser"], $0["winner"]) },
                   uniquingKeysWith: { a, _ in a })
    }

    /// Puts an item in an album, unless the album was deleted or the item was taken out of it by a later removal
    /// (of an add and a removal made at once, the later wins; at the same millisecond, the add). A membership
    /// known already keeps the later of the two times it was added at.
    /// `keyFits` is false when the membership wrapped another item's file key (it lost its bytes to this one): the
    /// membership is kept without a key, since the item's own wrapped key opens it.
    private func insert(_ membership: Membership, itemId: String, at time: Date, keyFits: Bool = true,
                        in db: Database) throws -> [SupersededEdit] {
        if let deleted = try deletedAlbum(membership.albumId, in: db) {
            return [SupersededEdit(itemId: itemId, "it was added to the album \(quoted(deleted.name)) while that album was "
                                   + "deleted elsewhere: the deletion wins; the item stays in the library")]
        }
        // A membership of an album or item the index does not hold is not applied: the entry that made it is lost (a
        // reported gap), and the album's key with it. The item stays readable through its own wrapped file key.
        guard let album = try albumRecord(membership.albumId, in: db), try itemExists(db, itemId) else { return [] }
        if let removedAt = try Date.fetchOne(db.cachedStatement(sql: "SELECT removedAt FROM albumItemRemovals WHERE albumId = ? AND itemId = ? AND removedAt > ?"),
                                             arguments: [membership.albumId, itemId, time]) {
            return [SupersededEdit(itemId: itemId, "adding it to the album \(quoted(album.name)) lost to its removal from that "
                                   + "album made later (\(removedAt)) elsewhere")]
        }
        try db.run("""
            INSERT INTO albumItems (albumId, itemId, wrappedFileKey, addedAt) VALUES (?, ?, ?, ?)
            ON CONFLICT(albumId, itemId) DO UPDATE SET addedAt = max(addedAt, excluded.addedAt)
            """, [membership.albumId, itemId, keyFits ? membership.wrappedFileKey : Data(), time])
        if album.kind == .user, try Bool.fetchOne(db.cachedStatement(sql: "SELECT deletedAt IS NOT NULL FROM items WHERE id = ?"),
                                                  arguments: [itemId]) == true {
            return [SupersededEdit(itemId: itemId, "it was added to the album \(quoted(album.name)) but is deleted (elsewhere): "
                                   + "it stays deleted")]
        }
        return []
    }

    /// Takes an item out of an album unless it was added to it later than `time`, and remembers the removal's time,
    /// so that an add made before it and read after it stays without effect.
    private func removeMembership(itemId: String, albumId: String, at time: Date, in db: Database) throws -> [SupersededEdit] {
        guard let album = try AlbumRecord.fetchOne(db, key: albumId) else { return [] }
        try db.run("DELETE FROM albumItems WHERE albumId = ? AND itemId = ? AND addedAt < ?", [albumId, itemId, time])
        let removed = db.changesCount > 0
        try db.run("""
            INSERT INTO albumItemRemovals (albumId, itemId, removedAt) VALUES (?, ?, ?)
            ON CONFLICT(albumId, itemId) DO UPDATE SET removedAt = max(removedAt, excluded.removedAt)
            """, [albumId, itemId, time])
        guard !removed, try isMember(itemId: itemId, albumId: albumId, in: db) else { return [] }
        return [SupersededEdit(itemId: itemId, "taking it out of the album \(quoted(album.name)) lost to adding it to that album "
                               + "later elsewhere: it stays in the album")]
    }

    /// Renames an album when the rename is later than its name's (time, then the greater name on a tie), so that of
    /// two renames made at once the later wins wherever they are applied in whichever order.
    private func rename(albumId: String, from: String, to: String, at time: Date, in db: Database) throws -> [SupersededEdit] {
        if let deleted = try deletedAlbum(albumId, in: db) {
            return [SupersededEdit(itemId: nil, "renaming the album \(quoted(deleted.name ?? from)) to \(quoted(to)) lost to "
                                   + "its deletion elsewhere")]
        }
        guard let album = try AlbumRecord.fetchOne(db, key: albumId) else { return [] }
        try db.run("""
            UPDATE albums SET name = ?, renamedAt = ? WHERE id = ? AND (COALESCE(renamedAt, createdAt), name) < (?, ?)
            """, [to, time, albumId, time, to])
        let renamed = db.changesCount > 0
        let (winner, loser) = renamed ? (to, album.name) : (album.name, to)
        // A rename that found the name its writer saw overrode nothing; otherwise two renames were made at once.
        guard winner != loser, !renamed || album.name != from else { return [] }
        return [SupersededEdit(itemId: nil, "the album \(quoted(from)) was renamed to \(quoted(loser)) and, at the same "
                               + "time elsewhere, to \(quoted(winner)): \(quoted(winner)), the later rename, is kept")]
    }

    /// Deletes an album: its memberships go (its items stay; those in no other album are Uncategorized), and it is
    /// remembered as deleted, so that an edit of it made before and read after the deletion stays without effect.
    /// An item in it that its writer did not see there was added elsewhere at the same time: that add lost.
    private func deleteAlbum(_ albumId: String, seen: Set<String>, at time: Date, in db: Database) throws -> [SupersededEdit] {
        let album = try AlbumRecord.fetchOne(db, key: albumId)
        var superseded: [SupersededEdit] = []
        if let album {
            let members = try String.fetchAll(db, sql: "SELECT itemId FROM albumItems WHERE albumId = ? ORDER BY itemId", arguments: [albumId])
            superseded = members.filter { !seen.contains($0) }.map {
                SupersededEdit(itemId: $0, "it was added to the album \(quoted(album.name)) while that album was deleted "
                               + "elsewhere: the deletion wins; the item stays in the library")
            }
        }
        try db.run("DELETE FROM albumItems WHERE albumId = ?", [albumId])
        try db.run("DELETE FROM albumItemRemovals WHERE albumId = ?", [albumId])
        try db.run("DELETE FROM albums WHERE id = ?", [albumId])
        try db.execute(sql: "INSERT OR IGNORE INTO deletedAlbums (id, name, deletedAt) VALUES (?, ?, ?)",
                       arguments: [albumId, album?.name, time])
        return superseded
    }

    private func deletedAlbum(_ albumId: String, in db: Database) throws -> DeletedAlbum? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM deletedAlbums WHERE id = ?"), arguments: [albumId]).map {
            DeletedAlbum(id: $0["id"], name: $0["name"], deletedAt: $0["deletedAt"])
        }
    }

    private func quoted(_ name: String?) -> String { name.map { "'\($0)'" } ?? "(a deleted album)" }

    private func isMember(itemId: String, albumId: String, in db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT 1 FROM albumItems WHERE albumId = ? AND itemId = ?", arguments: [albumId, itemId]) == true
    }

    // MARK: Where the logs stand

    /// This folder's writer id, made when the index was; nil when the index was made in another folder (`folder` is
    /// the folder's device and inode): a copied library folder must not write under the original's id.
    func writer(folder: String) throws -> String? {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT writer, folder FROM library") else { return nil }
            let recorded: String? = row["folder"]
            return recorded == nil || recorded == folder ? row["writer"] : nil
        }
    }

    func heads(_ db: Database) throws -> [String: LogHead] {
        var heads: [String: LogHead] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT * FROM logHeads") {
            heads[row["writer"]] = LogHead(sequence: UInt64(row["sequence"] as Int64), hash: row["hash"],
                                           time: UInt64(row["time"] as Int64), device: row["device"])
        }
        return heads
    }

    func heads() throws -> [String: LogHead] { try read { db in try heads(db) } }

    /// Records that `writer`'s entry `head` is applied, and counts it towards the next checkpoint.
    func advance(writer: String, to head: LogHead, in db: Database) throws {
        try db.run("""
            INSERT INTO logHeads (writer, sequence, hash, time, device) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(writer) DO UPDATE SET sequence = excluded.sequence, hash = excluded.hash, time = excluded.time,
                device = COALESCE(excluded.device, logHeads.device)
            """, [writer, Int64(head.sequence), head.hash, Int64(head.time), head.device])
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
        try db.run("INSERT OR REPLACE INTO objects (name, state) VALUES (?, 'committed')", [name])
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

    // MARK: Edits made while the store was away

    /// Queues a change made while the store could not be reached (already applied here), to push at the next sync.
    func queue(_ change: Change, at time: Date, in db: Database) throws {
        try db.run("INSERT INTO outbox (change, time) VALUES (?, ?)", [try JSONEncoder().encode(change), time])
    }

    func queuedChanges() throws -> [(id: Int64, change: Change, time: Date)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM outbox ORDER BY id").map { row in
                (row["id"], try JSONDecoder().decode(Change.self, from: row["change"] as Data), row["time"])
            }
        }
    }

    func dequeue(_ id: Int64, in db: Database) throws {
        try db.run("DELETE FROM outbox WHERE id = ?", [id])
    }

    func queuedCount() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox") ?? 0 }
    }

    func recordSync(at time: Date) throws {
        try write { db in try db.run("UPDATE library SET lastSync = ?", [time]) }
    }

    func lastSync() throws -> Date? {
        try read { db in try Date.fetchOne(db, sql: "SELECT lastSync FROM library") }
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
                    part.aliases = try aliases(db)
                    part.deletedAlbums = try Row.fetchAll(db, sql: "SELECT * FROM deletedAlbums ORDER BY id").map {
                        DeletedAlbum(id: $0["id"], name: $0["name"], deletedAt: $0["deletedAt"])
                    }
                }
                parts.append(part)
            }
            return parts
        }
    }

    private func checkpointItem(_ id: String, in db: Database) throws -> CheckpointItem {
        // Statements prepared once per connection: a checkpoint runs them for every item of the library.
        guard var item = try ItemRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM items WHERE id = ?"), arguments: [id]) else {
            throw LibraryError.corruptIndex("item \(id) vanished")
        }
        let deletedAt = item.deletedAt
        item.deletedAt = nil
        let wrapped = try Data.fetchOne(db.cachedStatement(sql: "SELECT wrappedFileKey FROM items WHERE id = ?"), arguments: [id])
        let originals = try OriginalRecord.fetchAll(db.cachedStatement(sql: "SELECT * FROM originals WHERE itemId = ? ORDER BY id"),
                                                    arguments: [id]).map { original in
            var original = original
            original.id = nil
            return original
        }
        let memberships = try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM albumItems WHERE itemId = ? ORDER BY albumId"),
                                           arguments: [id]).map {
            TimedMembership(membership: Membership(albumId: $0["albumId"], wrappedFileKey: $0["wrappedFileKey"]), addedAt: $0["addedAt"])
        }
        let removals = try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM albumItemRemovals WHERE itemId = ? ORDER BY albumId"),
                                        arguments: [id]).map {
            TimedRemoval(albumId: $0["albumId"], removedAt: $0["removedAt"])
        }
        let objects = try ObjectDigest.fetchAll(db.cachedStatement(sql: "SELECT * FROM itemObjects WHERE itemId = ? ORDER BY name"),
                                                arguments: [id])
        return CheckpointItem(state: ItemState(item: item, originals: originals, objects: objects, wrappedFileKey: wrapped),
                              deletedAt: deletedAt, memberships: memberships, removals: removals.isEmpty ? nil : removals)
    }

    /// Applies one part of a checkpoint (inside the caller's transaction).
    ///
    /// Into an index that held no item when the checkpoint began (`fresh`: a rebuild), rows go in as they are: a
    /// checkpoint is one writer's resolved state (one item per dedup hash, memberships of live albums), so the
    /// conflict rules a change goes through have nothing to decide, and a rebuild of 10,000 items skips a dozen
    /// queries an item.
    func apply(_ part: CheckpointPart, fresh: Bool, in db: Database) throws {
        for album in part.albums ?? [] { try album.insert(db, onConflict: .ignore) }
        for deleted in part.deletedAlbums ?? [] {
            try db.execute(sql: "INSERT OR IGNORE INTO deletedAlbums (id, name, deletedAt) VALUES (?, ?, ?)",
                           arguments: [deleted.id, deleted.name, deleted.deletedAt])
        }
        for (writer, head) in part.heads ?? [:] {
            try db.run("""
                INSERT INTO logHeads (writer, sequence, hash, time, device) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(writer) DO UPDATE SET sequence = excluded.sequence, hash = excluded.hash, time = excluded.time,
                    device = excluded.device WHERE excluded.sequence > logHeads.sequence
                """, [writer, Int64(head.sequence), head.hash, Int64(head.time), head.device])
        }
        for name in part.journalEntries ?? [] { try recordJournalEntry(name, in: db) }
        for (loser, winner) in part.aliases ?? [:] {
            try db.run("INSERT OR IGNORE INTO itemAliases (loser, winner) VALUES (?, ?)", [loser, winner])
        }
        for entry in part.items {
            if fresh {
                try insertRows(entry.state, in: db)
            } else {
                guard try insert(entry.state, in: db) == entry.state.item.id else { continue }
            }
            if let deletedAt = entry.deletedAt {
                try db.run("UPDATE items SET deletedAt = ? WHERE id = ?", [deletedAt, entry.state.item.id])
            }
            for removal in entry.removals ?? [] {
                try db.execute(sql: "INSERT OR REPLACE INTO albumItemRemovals (albumId, itemId, removedAt) VALUES (?, ?, ?)",
                               arguments: [removal.albumId, entry.state.item.id, removal.removedAt])
            }
            for timed in entry.memberships {
                if fresh {
                    try db.run("INSERT OR IGNORE INTO albumItems (albumId, itemId, wrappedFileKey, addedAt) VALUES (?, ?, ?, ?)",
                               [timed.membership.albumId, entry.state.item.id, timed.membership.wrappedFileKey, timed.addedAt])
                } else {
                    _ = try insert(timed.membership, itemId: entry.state.item.id, at: timed.addedAt,
                                   keyFits: !timed.membership.wrappedFileKey.isEmpty, in: db)
                }
            }
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
        try write { db in try db.run("UPDATE items SET wrappedFileKey = ? WHERE id = ?", [wrapped, itemId]) }
    }

    /// One album membership of the item (album id and the file key wrapped by that album's key).
    func anyMembership(of itemId: String) throws -> (albumId: String, wrappedAlbumKey: Data, wrappedFileKey: Data)? {
        try read { db in
            try Row.fetchOne(db, sql: """
                SELECT albumItems.albumId, albums.wrappedKey, albumItems.wrappedFileKey FROM albumItems
                JOIN albums ON albums.id = albumItems.albumId WHERE albumItems.itemId = ? AND length(albumItems.wrappedFileKey) > 0
                ORDER BY albumItems.albumId LIMIT 1
                """, arguments: [itemId]).map { ($0["albumId"], $0["wrappedKey"], $0["wrappedFileKey"]) }
        }
    }

    func album(id: String) throws -> AlbumRecord? {
        try read { db in try albumRecord(id, in: db) }
    }

    /// The album of `kind` named `name` (the earliest made, should two machines have made one each).
    func album(kind: AlbumRecord.Kind, name: String) throws -> AlbumRecord? {
        try read { db in
            try AlbumRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM albums WHERE kind = ? AND name = ? ORDER BY createdAt, id LIMIT 1"),
                                     arguments: [kind.rawValue, name])
        }
    }

    func item(dedupHash: String) throws -> ItemRecord? {
        try read { db in try ItemRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM items WHERE dedupHash = ?"), arguments: [dedupHash]) }
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
        try read { db in try itemExists(db, itemId) ? try checkpointItem(itemId, in: db).state : nil }
    }

    /// Every item id the index knows, with those that lost their bytes to another item.
    func allItemIds() throws -> Set<String> {
        Set(try read { db in try String.fetchAll(db, sql: "SELECT id FROM items UNION SELECT loser FROM itemAliases") })
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
                try db.run("UPDATE items SET dedupHash = ? WHERE id = ?", [hash, itemId])
            }
        }
    }

    /// Records the source files an item was made from, and clears their failures.
    func recordSources(_ sources: [SourceFileRecord], itemId: String, in db: Database) throws {
        for var source in sources {
            source.itemId = itemId
            try source.save(db)
            try db.run("DELETE FROM failedFiles WHERE path = ?", [source.path])
        }
    }

    func recordSources(_ sources: [SourceFileRecord], itemId: String) throws {
        guard !sources.isEmpty else { return }
        try write { db in try recordSources(sources, itemId: itemId, in: db) }
    }
}

extension Database {
    /// Runs one statement prepared once per connection: applying a checkpoint or a log runs the same few statements
    /// for every item.
    func run(_ sql: String, _ arguments: StatementArguments) throws {
        try cachedStatement(sql: sql).execute(arguments: arguments)
    }
}

extension LibraryIndex {
    func albumRecord(_ id: String, in db: Database) throws -> AlbumRecord? {
        try AlbumRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM albums WHERE id = ?"), arguments: [id])
    }

    func itemExists(_ db: Database, _ id: String) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM items WHERE id = ?"), arguments: [id]) == true
    }
}
