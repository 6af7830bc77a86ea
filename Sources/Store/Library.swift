import Foundation
import GRDB
import KeepsakeCrypto
import MediaTypes
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Where an ingested item goes: a named album, or Uncategorized.
public enum AlbumTarget: Sendable, Hashable {
    case uncategorized
    case named(String)
}

/// An item ready to be committed: every object it names is already durable in the store.
public struct NewItem: Sendable {
    public var type: ItemType
    public var dedupHash: String
    public var fileKey: SecretKey
    public var originals: [OriginalRecord]
    public var metadataJSON: String?
    public var metadataObject: ObjectName?
    public var thumbnailObject: ObjectName?
    public var streamObject: ObjectName?
    public var playlistObject: ObjectName?
    public var stageProblems: [StageProblem]
    public var sourceFiles: [SourceFileRecord]

    public init(type: ItemType, dedupHash: String, fileKey: SecretKey, originals: [OriginalRecord]) {
        self.type = type
        self.dedupHash = dedupHash
        self.fileKey = fileKey
        self.originals = originals
        stageProblems = []
        sourceFiles = []
    }

    var objectNames: [ObjectName] { objectRoles.map(\.name) }

    /// Every object the item owns, with its role in it.
    var objectRoles: [(name: ObjectName, role: ObjectRole)] {
        [(metadataObject, ObjectRole.metadata), (thumbnailObject, .thumbnail), (streamObject, .stream), (playlistObject, .playlist)]
            .compactMap { name, role in name.map { ($0, role) } }
            + originals.compactMap { original in (try? ObjectName(original.objectName)).map { ($0, ObjectRole(original: original.role)) } }
    }
}

/// What committing (or re-finding) an item did.
public enum CommitOutcome: Sendable, Equatable {
    /// A new item, stored.
    case stored(itemId: String)
    /// Already in the library and in the target album: nothing stored.
    case duplicate(itemId: String)
    /// Already in the library, now also in the target album (a reference, no new object).
    case addedToAlbum(itemId: String)
    /// The user deleted this item from the library; it is not uploaded again.
    case previouslyDeleted(itemId: String)

    public var itemId: String {
        switch self {
        case .stored(let id), .duplicate(let id), .addedToAlbum(let id), .previouslyDeleted(let id): id
        }
    }
}

/// An open library: its store, its index and its keys (SPEC 6).
public final class Library: Sendable {
    public let path: String
    public let store: any ObjectStore
    public let index: LibraryIndex
    private let masterKey: SecretKey
    private let albumKeys = Mutex<[String: SecretKey]>([:])
    /// Serialises the check-then-write of commits inside this process (other processes are kept out by `WriterLock`).
    private let commitLock = Mutex(())
    /// The size and BLAKE2b of each object this process stored and has not yet committed or discarded.
    private let writtenObjects = Mutex<[ObjectName: WrittenBytes]>([:])

    public static func storePath(library: String) -> String { library + "/store" }

    /// Opens the library at `path` whose objects are in `location`, creating it when `create` is true and neither the
    /// folder nor the store holds anything yet. With an existing store and no index in the folder (a new machine),
    /// or an index that is not a sound index of this library, the index is rebuilt from the store's journal;
    /// `notice` is told once when a bad index was moved aside.
    ///
    /// Everything here runs under the folder's open lock (`open.lock`), so that two processes never both create a
    /// library or build its index: the second waits, then finds what the first made.
    public static func open(at path: String, store location: StoreLocation = .libraryFolder, passphrase: String,
                            create: Bool, notice: (String) -> Void = { _ in }) throws -> Library {
        try checkIndexBelongs(at: path, to: location)
        let hasKey = try hasKeyFile(location, library: path)
        guard create || hasKey || FileManager.default.fileExists(atPath: path) else {
            throw LibraryError.notALibrary(location.describe(library: path))
        }
        // Argon2id takes a second and 256 MiB: done before the lock when the library exists, so openers do not queue.
        let unlocked = hasKey
            ? try location.openExisting(library: path).map { try KeyFile.read(from: $0).openMasterKey(passphrase: passphrase) } : nil
        let openLock = try lockFolder(path)
        defer { withExtendedLifetime(openLock) {} }
        if let store = try location.openExisting(library: path), try store.size(of: KeyFile.objectName) != nil {
            let master = try unlocked ?? KeyFile.read(from: store).openMasterKey(passphrase: passphrase)
            try recordStore(at: path, location)
            return try Library(path: path, store: store, masterKey: master, notice: notice)
        }
        guard create else { throw LibraryError.notALibrary(location.describe(library: path)) }
        let contents = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        guard contents.filter({ !["store", openLockName, "lock"].contains($0) }).isEmpty else { throw LibraryError.notALibrary(path) }
        let newStore = try location.create(library: path)
        try recordStore(at: path, location)
        let (keyFile, created) = try KeyFile.create(passphrase: passphrase)
        // Another machine may be creating a library in the same store at this moment: the first key file stays
        // (where the store can refuse to overwrite), and every creator adopts the one the store holds.
        try newStore.putIfAbsent(KeyFile.objectName, bytes: keyFile.encoded())
        let stored = try KeyFile.read(from: newStore)
        let master = stored.wrappedMasterKey == keyFile.wrappedMasterKey ? created : try stored.openMasterKey(passphrase: passphrase)
        return try Library(path: path, store: newStore, masterKey: master, notice: notice)
    }

    private static let openLockName = "open.lock"

    private static func takeOpenLock(_ path: String) throws -> WriterLock {
        try WriterLock(path: path + "/" + openLockName, waitingUpTo: .seconds(600), onWait: { _ in })
    }

    /// Takes the folder's open lock; a folder that does not exist yet is made with the lock already taken in it
    /// (made aside, then renamed into place), so that no reader ever finds a new folder without its creator's lock.
    private static func lockFolder(_ path: String) throws -> WriterLock {
        if FileManager.default.fileExists(atPath: path) { return try takeOpenLock(path) }
        let parent = (path as NSString).deletingLastPathComponent
        try makeFolder(parent.isEmpty ? "." : parent)
        var template = Array(((parent.isEmpty ? "." : parent) + "/.keepsake-new-XXXXXX").utf8CString)
        guard mkdtemp(&template) != nil else {
            throw LibraryError.store(.io(operation: "mkdtemp", path: parent, errno: errno))
        }
        let temp = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let lock = try takeOpenLock(temp)
        guard rename(temp, path) == 0 else {
            let code = errno
            unlink(temp + "/" + openLockName)
            rmdir(temp)
            // Another process made the folder meanwhile: wait for its lock there.
            guard code == ENOTEMPTY || code == EEXIST else { throw LibraryError.store(.io(operation: "rename", path: path, errno: code)) }
            return try takeOpenLock(path)
        }
        return lock
    }

    private static func hasKeyFile(_ location: StoreLocation, library path: String) throws -> Bool {
        guard let store = try location.openExisting(library: path) else { return false }
        return try store.size(of: KeyFile.objectName) != nil
    }

    /// True when `location` holds a library (its key file); throws when the store cannot be asked. A library being
    /// created in this folder by another process at this moment is waited for.
    public static func exists(at path: String, store location: StoreLocation) throws -> Bool {
        try checkIndexBelongs(at: path, to: location)
        if try hasKeyFile(location, library: path) { return true }
        guard FileManager.default.fileExists(atPath: path) else { return false }
        let openLock = try takeOpenLock(path)
        defer { withExtendedLifetime(openLock) {} }
        return try hasKeyFile(location, library: path)
    }

    /// The library folder names the store its index describes (`store-location`, absent for `store/` inside it), so an
    /// index is never used with another library's store.
    private static func checkIndexBelongs(at path: String, to location: StoreLocation) throws {
        guard FileManager.default.fileExists(atPath: path + "/index.sqlite") else { return }
        let recorded = try? String(contentsOfFile: path + "/store-location", encoding: .utf8)
        if recorded != location.url {
            throw LibraryError.otherStore(library: path, recorded: recorded ?? Library.storePath(library: path),
                                          given: location.describe(library: path))
        }
    }

    private static func recordStore(at path: String, _ location: StoreLocation) throws {
        let file = path + "/store-location"
        guard let url = location.url else { return }
        guard (try? String(contentsOfFile: file, encoding: .utf8)) != url else { return }
        try Data(url.utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
    }

    private static func makeFolder(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
    }

    private init(path: String, store: any ObjectStore, masterKey: SecretKey, notice: (String) -> Void) throws {
        self.path = path
        self.store = store
        self.masterKey = masterKey
        let indexPath = path + "/index.sqlite"
        let identity = Self.identity(of: masterKey)
        var opened: (index: LibraryIndex, isNew: Bool)
        do {
            opened = try Self.openIndex(at: indexPath, identity: identity, masterKey: masterKey)
        } catch let damage as IndexDamage {
            let aside = try Self.moveAside(indexPath)
            notice("the library index \(indexPath) is not a sound index of this library (\(damage)): "
                   + "moved it to \(aside); rebuilding the index from the store")
            opened = try Self.openIndex(at: indexPath, identity: identity, masterKey: masterKey)
        }
        self.index = opened.index
        if opened.isNew {
            do {
                for (name, reason) in try rebuildIndexFromStore() {
                    notice("journal entry \(name) cannot be read (\(reason)): skipped; everything else was recovered, "
                           + "and `keepsake verify` lists it")
                }
                try index.record(identity: identity)
            } catch {
                // Leave no empty index behind, or the next run would take it for a real one and skip the rebuild.
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: indexPath + suffix) }
                throw LibraryError.corruptIndex("cannot rebuild the index from the store: \(error)")
            }
        }
    }

    /// Opens the index at `indexPath` and checks that it is this library's; throws `IndexDamage` when it is not.
    private static func openIndex(at indexPath: String, identity: String,
                                  masterKey: SecretKey) throws -> (index: LibraryIndex, isNew: Bool) {
        let isNew = !FileManager.default.fileExists(atPath: indexPath)
        let index = try LibraryIndex(path: indexPath)
        guard !isNew else { return (index, true) }
        if let recorded = try index.identity() {
            guard recorded == identity else { throw IndexDamage(reason: "it is the index of another library") }
        } else {
            // An index made before identities were recorded: it is this library's when its albums open with this
            // master key (one without albums holds no item to lose).
            if let wrapped = try index.anyAlbumKey() {
                guard (try? KeyWrap.unwrap(Array(wrapped), with: masterKey)) != nil else {
                    throw IndexDamage(reason: "it is the index of another library")
                }
            }
            try index.record(identity: identity)
        }
        return (index, false)
    }

    /// Renames a bad index (and its -wal and -shm) to `index.sqlite.damaged-<UTC time>`: it is never deleted.
    private static func moveAside(_ indexPath: String) throws -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        var aside = indexPath + ".damaged-" + formatter.string(from: Date())
        while FileManager.default.fileExists(atPath: aside) { aside += "x" }
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: indexPath + suffix) {
            guard rename(indexPath + suffix, aside + suffix) == 0 else {
                throw LibraryError.store(.io(operation: "rename", path: indexPath + suffix, errno: errno))
            }
        }
        try syncDirectory(String(indexPath[..<indexPath.lastIndex(of: "/")!]))
        return aside
    }

    /// Names the library an index describes without revealing anything: a hash of the master key, kept apart from
    /// every other use of it.
    static func identity(of masterKey: SecretKey) -> String {
        let hasher = Blake2b()
        hasher.update(Array("keepsake library identity 1".utf8))
        masterKey.withUnsafeBytes { hasher.update($0) }
        return Array(hasher.finalize().prefix(16)).hexString
    }

    // MARK: Writing

    /// Takes the library's single-writer lock and cleans up what a killed run left behind: partial uploads and
    /// objects that were written but never committed. Returns how many orphans it removed.
    /// When another process holds the lock, calls `onWait` once with the holder (when known) and waits up to `timeout` for it.
    ///
    /// The local index is not trusted alone to say what is unreferenced: an object some journal entry in the store
    /// names stays (an entry this folder wrote but did not mark committed is applied now), and when an entry cannot
    /// be read nothing is deleted.
    public func lockForWriting(waitingUpTo timeout: Duration = .zero,
                               onWait: (LockHolder?) -> Void = { _ in }) throws -> (lock: WriterLock, orphansRemoved: Int) {
        let lock = try WriterLock(path: path + "/lock", waitingUpTo: timeout, onWait: onWait)
        let uncommitted = try index.uncommittedObjects()
        guard !uncommitted.isEmpty else {
            try store.removeAbandonedUploads(of: [])
            return (lock, 0)
        }
        let references = try storeReferences()
        for name in uncommitted {
            guard let entry = references.entries[name] else { continue }
            try index.write { db in try entry.apply(db, entryName: name.path) }
        }
        let stillUncommitted = try index.uncommittedObjects()
        let kept = Set(stillUncommitted.filter { references.objects.contains($0.path) || references.entries[$0] != nil })
        for name in kept { try index.journal(name, as: .committed) }
        let orphans = references.unreadable.isEmpty ? stillUncommitted.filter { !kept.contains($0) } : []
        try store.removeAbandonedUploads(of: orphans)
        for name in orphans { try store.delete(name) }
        try index.forget(orphans)
        return (lock, orphans.count)
    }

    /// What the store itself says is part of the library: every journal entry of every machine, and every object
    /// they name. Entries that cannot be read are listed, never guessed at.
    struct StoreReferences {
        var entries: [ObjectName: JournalEntry] = [:]
        var objects = Set<String>()
        var unreadable: [(name: ObjectName, reason: String)] = []
    }

    func storeReferences() throws -> StoreReferences {
        var references = StoreReferences()
        for name in try store.list(prefix: "index/") {
            do {
                let entry = try readJournalEntry(name)
                references.entries[name] = entry
                references.objects.formUnion(entry.referencedObjects)
            } catch StoreError.notFound {
                continue  // deleted since the listing
            } catch let error as StoreError {
                throw error  // the store cannot be read: that ends the run, it says nothing about the entry
            } catch {
                references.unreadable.append((name, "\(error)"))
            }
        }
        return references
    }

    /// Starts writing a new object under a random name, journalled as pending.
    public func beginObject() throws -> (ObjectName, any ObjectWriter) {
        let name = ObjectName.randomData()
        try index.journal(name, as: .pending)
        let writer = HashingWriter(try store.makeWriter(for: name)) { bytes in
            self.writtenObjects.withLock { $0[name] = bytes }
        }
        return (name, writer)
    }

    /// Records that `name`'s writer has committed: the object is durable but not yet part of an item.
    public func markStored(_ name: ObjectName) throws { try index.journal(name, as: .stored) }

    /// Removes objects that will not be committed (a duplicate found late, or a failed file).
    public func discard(_ names: [ObjectName]) throws {
        for name in names { try store.delete(name) }
        try index.forget(names)
        writtenObjects.withLock { written in for name in names { written[name] = nil } }
    }

    /// Encrypts `bytes` with `key` and stores them as one new object.
    public func putSealed(_ bytes: [UInt8], key: SecretKey) throws -> ObjectName {
        let (name, writer) = try beginObject()
        do {
            let sealed = try SealingStream.seal(bytes, key: key)
            try sealed.withUnsafeBytes { buffer in try writer.write(buffer) }
            try writer.commit()
        } catch {
            writer.abort()
            try? index.forget([name])
            throw error
        }
        try markStored(name)
        return name
    }

    /// When an item with `hash` exists, puts it in `album` (if needed) and says what happened; nil when it is new.
    public func resolveExisting(hash: String, album: AlbumTarget, sourceFiles: [SourceFileRecord],
                                reuploadDeleted: Bool = false) throws -> CommitOutcome? {
        try commitLock.withLock { _ in
            try resolveExistingLocked(hash: hash, album: album, sourceFiles: sourceFiles, reuploadDeleted: reuploadDeleted)
        }
    }

    private func resolveExistingLocked(hash: String, album: AlbumTarget, sourceFiles: [SourceFileRecord],
                                       reuploadDeleted: Bool) throws -> CommitOutcome? {
        guard let existing = try index.read({ db in try ItemRecord.filter(Column("dedupHash") == hash).fetchOne(db) }) else {
            return nil
        }
        if existing.deletedAt != nil {
            guard reuploadDeleted else { return .previouslyDeleted(itemId: existing.id) }
            let entry = try appendJournal(.restoration(itemId: existing.id))
            try index.write { db in try JournalEntry.restore(db, itemId: existing.id); try markCommitted(db, entry) }
        }
        let albumId = try ensureAlbum(album)
        let isMember = try index.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM albumItems WHERE albumId = ? AND itemId = ?", arguments: [albumId, existing.id]) == true
        }
        if isMember {
            try index.write { db in try recordSources(db, sourceFiles, itemId: existing.id) }
            return .duplicate(itemId: existing.id)
        }
        let membership = try membership(albumId: albumId, fileKey: try fileKey(of: existing.id))
        let entry = try appendJournal(.membership(itemId: existing.id, membership))
        try index.write { db in
            try JournalEntry.insert(db, membership, itemId: existing.id, at: Date())
            try recordSources(db, sourceFiles, itemId: existing.id)
            try markCommitted(db, entry)
        }
        return .addedToAlbum(itemId: existing.id)
    }

    /// Commits `item`, last of all its work: first its journal entry into the store, then its rows into the index
    /// in one transaction. If an item with the same hash was committed meanwhile (another worker, same bytes), the
    /// new objects are discarded and the existing item is used.
    public func commit(_ item: NewItem, album: AlbumTarget) throws -> CommitOutcome {
        let outcome: CommitOutcome = try commitLock.withLock { _ in
            if let existing = try resolveExistingLocked(hash: item.dedupHash, album: album, sourceFiles: item.sourceFiles,
                                                        reuploadDeleted: false) {
                return existing
            }
            let albumId = try ensureAlbum(album)
            let itemId = ObjectID.random().hex
            var problems: String?
            if !item.stageProblems.isEmpty {
                problems = String(decoding: try JSONEncoder().encode(item.stageProblems), as: UTF8.self)
            }
            let record = ItemRecord(id: itemId, type: item.type, dedupHash: item.dedupHash, createdAt: Date(), deletedAt: nil,
                                    metadataJSON: item.metadataJSON, metadataObject: item.metadataObject?.path,
                                    thumbnailObject: item.thumbnailObject?.path, streamObject: item.streamObject?.path,
                                    playlistObject: item.playlistObject?.path, stageProblems: problems)
            let originals = item.originals.map { original in
                var original = original
                original.itemId = itemId
                return original
            }
            let membership = try membership(albumId: albumId, fileKey: item.fileKey)
            let objects = item.objectNames.map(\.path)
            let digests = try digests(of: item, itemId: itemId)
            let change = JournalEntry.Change.item(record, originals: originals, memberships: [membership], objects: objects)
            let entry = try appendJournal(change, objectDigests: digests)
            try index.write { db in
                try JournalEntry(time: record.createdAt, change: change, objectDigests: digests).apply(db, entryName: entry.path)
                try recordSources(db, item.sourceFiles, itemId: itemId)
            }
            return .stored(itemId: itemId)
        }
        if case .stored = outcome {
            writtenObjects.withLock { written in for name in item.objectNames { written[name] = nil } }
        } else {
            try discard(item.objectNames)
        }
        return outcome
    }

    /// The recorded digest of every object of `item`, each measured by its writer as it was stored.
    private func digests(of item: NewItem, itemId: String) throws -> [ObjectDigest] {
        try item.objectRoles.map { name, role in
            guard let bytes = writtenObjects.withLock({ $0[name] }) else {
                throw LibraryError.corruptIndex("object \(name) was not stored by this library's writer")
            }
            return ObjectDigest(itemId: itemId, name: name.path, role: role.rawValue, size: bytes.size, blake2b: bytes.blake2b)
        }
    }

    /// Marks an item deleted (`keepsake rm`): it leaves `ls` and export, and the same bytes are not uploaded again
    /// unless `--reupload-deleted` is given. Its objects stay, so nothing is lost by a mistaken `rm`.
    public func markDeleted(itemId: String) throws {
        try commitLock.withLock { _ in
            guard let item = try index.item(id: itemId) else { throw LibraryEditError.noSuchItem(itemId) }
            guard item.deletedAt == nil else { return }
            let entry = try appendJournal(.deletion(itemId: itemId))
            try index.write { db in
                try db.execute(sql: "UPDATE items SET deletedAt = ? WHERE id = ?", arguments: [Date(), itemId])
                try markCommitted(db, entry)
            }
        }
    }

    /// Takes `itemId` out of the user album `albumName` (the user's choice, or its watched file left the folder);
    /// when that was its last album it moves to Uncategorized, its file key wrapped anew for it. Nothing is deleted.
    /// Returns false when the item is not in that album.
    @discardableResult
    public func moveOutOfAlbum(itemId: String, albumName: String) throws -> Bool {
        try commitLock.withLock { _ in
            let memberships = try index.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT albums.id, albums.kind, albums.name FROM albumItems JOIN albums ON albums.id = albumItems.albumId
                    WHERE albumItems.itemId = ?
                    """, arguments: [itemId])
            }
            guard let album = memberships.first(where: { $0["kind"] == "user" && $0["name"] == albumName }) else { return false }
            var uncategorized: JournalEntry.Membership?
            if memberships.count == 1 {
                uncategorized = try membership(albumId: try ensureAlbum(.uncategorized), fileKey: try fileKey(of: itemId))
            }
            let change = JournalEntry.Change.albumRemoval(itemId: itemId, albumId: album["id"], uncategorized: uncategorized)
            let entry = try appendJournal(change)
            try index.write { db in try JournalEntry(time: Date(), change: change).apply(db, entryName: entry.path) }
            return true
        }
    }

    /// Writes one journal entry into the store, journalled in the index like any object until its change commits.
    private func appendJournal(_ change: JournalEntry.Change, objectDigests: [ObjectDigest]? = nil) throws -> ObjectName {
        let name = JournalEntry.newName()
        try index.journal(name, as: .pending)
        try store.put(name, bytes: JournalEntry(time: Date(), change: change, objectDigests: objectDigests).sealed(with: masterKey))
        try index.journal(name, as: .stored)
        return name
    }

    private func markCommitted(_ db: Database, _ entry: ObjectName) throws {
        try db.execute(sql: "UPDATE objects SET state = 'committed' WHERE name = ?", arguments: [entry.path])
    }

    private func recordSources(_ db: Database, _ sources: [SourceFileRecord], itemId: String) throws {
        for var source in sources {
            source.itemId = itemId
            try source.save(db)
            try db.execute(sql: "DELETE FROM failedFiles WHERE path = ?", arguments: [source.path])
        }
    }

    private func membership(albumId: String, fileKey: SecretKey) throws -> JournalEntry.Membership {
        let albumKey = try index.pool.read { db in try self.albumKey(db, albumId: albumId) }
        return JournalEntry.Membership(albumId: albumId, wrappedFileKey: Data(KeyWrap.wrap(fileKey, with: albumKey)))
    }

    /// The id of the album `target` names, creating (and journalling) it when it does not exist.
    private func ensureAlbum(_ target: AlbumTarget) throws -> String {
        let (name, kind): (String, AlbumRecord.Kind) = switch target {
        case .uncategorized: ("", .uncategorized)
        case .named(let name): (name, .user)
        }
        let existing = try index.read { db in
            try String.fetchOne(db, sql: "SELECT id FROM albums WHERE kind = ? AND name = ? ORDER BY createdAt, id LIMIT 1",
                                arguments: [kind.rawValue, name])
        }
        if let existing { return existing }
        let album = AlbumRecord(id: ObjectID.random().hex, name: name, kind: kind,
                                wrappedKey: Data(KeyWrap.wrap(SecretKey(), with: masterKey)), createdAt: Date())
        let entry = try appendJournal(.album(album))
        try index.write { db in try JournalEntry(time: album.createdAt, change: .album(album)).apply(db, entryName: entry.path) }
        return album.id
    }

    private func albumKey(_ db: Database, albumId: String) throws -> SecretKey {
        if let key = albumKeys.withLock({ $0[albumId] }) { return key }
        guard let wrapped = try Data.fetchOne(db, sql: "SELECT wrappedKey FROM albums WHERE id = ?", arguments: [albumId]) else {
            throw LibraryError.corruptIndex("album \(albumId) is missing")
        }
        let key = try KeyWrap.unwrap(Array(wrapped), with: masterKey)
        albumKeys.withLock { $0[albumId] = key }
        return key
    }

    private func fileKey(_ db: Database, itemId: String) throws -> SecretKey {
        guard let row = try Row.fetchOne(db, sql: "SELECT albumId, wrappedFileKey FROM albumItems WHERE itemId = ? LIMIT 1",
                                         arguments: [itemId]) else {
            throw LibraryError.corruptIndex("item \(itemId) is in no album")
        }
        let wrapped: Data = row["wrappedFileKey"]
        return try KeyWrap.unwrap(Array(wrapped), with: try albumKey(db, albumId: row["albumId"]))
    }

    // MARK: Recovery and keys

    func readJournalEntry(_ name: ObjectName) throws -> JournalEntry {
        try JournalEntry.open(try store.get(name, limit: JournalEntry.maxByteCount), key: masterKey)
    }

    /// Rebuilds the index from the journal entries in the store: every entry, from every machine, in time order.
    /// An entry that does not open or parse (junk, damage, another library's) is skipped and returned, so that one
    /// bad object never keeps the rest of the library from coming back.
    func rebuildIndexFromStore() throws -> [(name: ObjectName, reason: String)] {
        let references = try storeReferences()
        let entries = references.entries.sorted { ($0.value.time, $0.key.path) < ($1.value.time, $1.key.path) }
        try index.write { db in
            for (name, entry) in entries { try entry.apply(db, entryName: name.path) }
        }
        return references.unreadable
    }

    /// Re-wraps the master key under a new passphrase (`keepsake passwd`); no other object changes.
    public func changePassphrase(to passphrase: String) throws {
        try store.put(KeyFile.objectName, bytes: try KeyFile.wrapping(masterKey, passphrase: passphrase).encoded())
    }

    // MARK: Reading

    /// The key that decrypts every object of `itemId`.
    public func fileKey(of itemId: String) throws -> SecretKey {
        try index.pool.read { db in try fileKey(db, itemId: itemId) }
    }

    /// Decrypts the object `name` with `key`, streaming the plaintext to `sink`. Throws `CryptoError` for
    /// data that does not open, and `ObjectMismatch` when the stored bytes are not those recorded for the object
    /// (see `readStored`); `sink` may have received part of it by then.
    public func readDecrypted(_ name: ObjectName, key: SecretKey, into sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        let opener = try OpeningStream(key: key, sink: sink)
        // Bytes that do not decrypt are read on to the end, so that damage in the store is told (as a mismatch)
        // from a key that does not fit.
        var decryptFailure: CryptoError?
        try readStored(name) { bytes in
            guard decryptFailure == nil else { return }
            do { try opener.write(bytes) } catch let error as CryptoError { decryptFailure = error }
        }
        if let decryptFailure { throw decryptFailure }
        try opener.finish()
    }

    /// Streams the object `name` as stored to `sink`, checking its size and BLAKE2b against those recorded when it
    /// was stored: a mismatch throws `ObjectMismatch` (once `sink` has had the bytes read so far; a longer object
    /// as soon as it is). An object stored before objects had digests is read unchecked.
    public func readStored(_ name: ObjectName, into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let expected = try index.digest(of: name.path) else {
            return try store.read(name, range: nil, into: sink)
        }
        let check = StoredBytesCheck(expected)
        try store.read(name, range: nil) { bytes in
            try check.update(bytes)
            try sink(bytes)
        }
        try check.finish()
    }
}

/// Who holds a library's writer lock: recorded in the lock file by the holder, read by a process that waits.
public struct LockHolder: Sendable, Equatable {
    public var pid: Int32
    /// The program and its subcommand, e.g. `keepsake ingest` or `keepsake daemon`.
    public var command: String

    public var isDaemon: Bool { command.split(separator: " ").dropFirst().first == "daemon" }

    /// This process.
    static var current: LockHolder {
        let arguments = CommandLine.arguments
        let program = (arguments.first.map { ($0 as NSString).lastPathComponent } ?? "keepsake")
        return LockHolder(pid: getpid(), command: ([program] + arguments.dropFirst().prefix(1)).joined(separator: " "))
    }

    var record: String { "\(pid) \(command)\n" }

    /// The holder a lock file names, if that process still runs.
    init?(record: String) {
        let fields = record.split(separator: "\n").first?.split(separator: " ", maxSplits: 1) ?? []
        guard fields.count == 2, let pid = Int32(fields[0]), pid > 0 else { return nil }
        guard kill(pid, 0) == 0 || errno == EPERM else { return nil }  // a record left by a process that is gone
        self.init(pid: pid, command: String(fields[1]))
    }

    init(pid: Int32, command: String) {
        self.pid = pid
        self.command = command
    }
}

/// An exclusive `flock` on the library, held while one process writes to it. The holder writes who it is into the
/// lock file (under the lock) and empties it on release, so that a process that waits can say for whom.
public final class WriterLock: Sendable {
    private let fd: Int32

    init(path: String, waitingUpTo timeout: Duration, onWait: (LockHolder?) -> Void) throws {
        // Taken before `fd` is set, so that a lock not taken never runs `deinit` (which empties the holder's record).
        fd = try Self.take(path: path, waitingUpTo: timeout, onWait: onWait)
    }

    private static func take(path: String, waitingUpTo timeout: Duration, onWait: (LockHolder?) -> Void) throws -> Int32 {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LibraryError.store(.io(operation: "open", path: path, errno: errno)) }
        let deadline = ContinuousClock.now + timeout
        var waiting = false
        // Polled rather than a blocking flock, so that the wait is bounded.
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, ContinuousClock.now < deadline else {
                close(fd)
                throw LibraryError.locked(path)
            }
            if !waiting {
                waiting = true
                onWait(holder(fd))
            }
            usleep(100_000)
        }
        let record = Array(LockHolder.current.record.utf8)
        // Informational only: a lock whose record could not be written is still held.
        if ftruncate(fd, 0) == 0 { _ = record.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } }
        return fd
    }

    /// The holder the lock file names (read while another process holds the lock).
    private static func holder(_ fd: Int32) -> LockHolder? {
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return LockHolder(record: String(decoding: buffer.prefix(count), as: UTF8.self))
    }

    deinit {
        _ = ftruncate(fd, 0)
        close(fd)
    }
}
