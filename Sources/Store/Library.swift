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
    public var renditionObject: ObjectName?
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
        [(metadataObject, ObjectRole.metadata), (thumbnailObject, .thumbnail), (streamObject, .stream), (playlistObject, .playlist),
         (renditionObject, .rendition)]
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

/// An open library (SPEC 6), between its callers and the store, like restic's repository: a `Keyring` (the master
/// key and what it opens), a `ChangeLog` (the per-writer log, item records and checkpoints in the store, applied to
/// the index by one code path), an `ObjectLedger` (what this folder is writing) and, for Pipeline, `UploadSession`s.
/// Callers read through `index` and change the library through the methods here; they never write the store.
public final class Library: Sendable {
    public let path: String
    let store: any ObjectStore
    public let index: LibraryIndex
    let keyring: Keyring
    let changeLog: ChangeLog
    let ledger: ObjectLedger
    /// Serialises the check-then-write of commits inside this process (other processes are kept out by `WriterLock`);
    /// holds the items queued for a group commit while a run groups them (`groupingCommits`).
    let commitLock = Mutex<CommitQueue?>(nil)
    /// The albums others share with this library, decoded (`sharedView()`), with the index's stamp they were read at.
    let sharedCache = Mutex<(stamp: String, view: SharedView)?>(nil)

    public static func storePath(library: String) -> String { library + "/store" }

    /// Makes every object this library uploads from now on wait for `limit` (`--limit-upload`).
    public func limitUploads(_ limit: UploadLimit) { ledger.uploadLimit.withLock { $0 = limit } }

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
        let found = try storedKeyFile(location, library: path)
        guard create || found != nil || FileManager.default.fileExists(atPath: path) else {
            throw LibraryError.notALibrary(location.describe(library: path))
        }
        // Argon2id takes a second and 256 MiB: done before the lock when the library exists, so openers do not queue.
        let unlocked = try found.map { ($0.keyFile.wrappedMasterKey, try $0.keyFile.openMasterKey(passphrase: passphrase)) }
        let openLock = try lockFolder(path)
        defer { withExtendedLifetime(openLock) {} }
        if let (store, keyFile) = try storedKeyFile(location, library: path) {
            let master = try unlocked.flatMap { $0.0 == keyFile.wrappedMasterKey ? $0.1 : nil } ?? keyFile.openMasterKey(passphrase: passphrase)
            try recordStore(at: path, location)
            return try Library(path: path, store: store, masterKey: master, storeFormat: keyFile.version, notice: notice)
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
        return try Library(path: path, store: newStore, masterKey: master, storeFormat: stored.version, notice: notice)
    }

    private static let openLockName = "open.lock"

    private static func takeOpenLock(_ path: String) throws -> WriterLock {
        try WriterLock(path: path + "/" + openLockName, waitingUpTo: .seconds(600), onWait: { _ in })
    }

    /// Takes the folder's open lock; a folder that does not exist yet is made with the lock already taken in it
    /// (made aside, then renamed into place), so that no reader ever finds a new folder without its creator's lock.
    private static func lockFolder(_ path: String) throws -> WriterLock {
        if FileManager.default.fileExists(atPath: path) { return try takeOpenLock(path) }
        // Not NSString.deletingLastPathComponent: Foundation 6.3 traps on a path of one component ("A").
        let parent = path.lastIndex(of: "/").map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? ""
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

    /// The store and its key file; nil when the store holds none. A store that cannot be reached is opened with the
    /// copy of its key file kept in the library folder (`key-file`: nothing secret, the key is wrapped by the
    /// passphrase), so that reading the index and editing albums work offline; the edits wait for the store.
    private static func storedKeyFile(_ location: StoreLocation, library path: String) throws -> (store: any ObjectStore, keyFile: KeyFile)? {
        let copy = path + "/" + keyFileCopyName
        do {
            guard let store = try location.openExisting(library: path), try store.size(of: KeyFile.objectName) != nil else { return nil }
            let keyFile = try KeyFile.read(from: store)
            let encoded = Data(try keyFile.encoded())
            if location.url != nil, FileManager.default.fileExists(atPath: path),
               (try? Data(contentsOf: URL(fileURLWithPath: copy))) != encoded {
                try? encoded.write(to: URL(fileURLWithPath: copy), options: .atomic)
            }
            return (store, keyFile)
        } catch let error as StoreError where error.isOutage {
            guard let bytes = try? Data(contentsOf: URL(fileURLWithPath: copy)), let store = try? location.openExisting(library: path) else {
                throw error
            }
            return (store, try KeyFile.decode(Array(bytes)))
        }
    }

    private static let keyFileCopyName = "key-file"

    /// True when `location` holds a library (its key file); throws when the store cannot be asked. A library being
    /// created in this folder by another process at this moment is waited for.
    public static func exists(at path: String, store location: StoreLocation) throws -> Bool {
        try checkIndexBelongs(at: path, to: location)
        if try storedKeyFile(location, library: path) != nil { return true }
        guard FileManager.default.fileExists(atPath: path) else { return false }
        let openLock = try takeOpenLock(path)
        defer { withExtendedLifetime(openLock) {} }
        return try storedKeyFile(location, library: path) != nil
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

    private init(path: String, store: any ObjectStore, masterKey: SecretKey, storeFormat: Int, notice: (String) -> Void) throws {
        self.path = path
        self.store = store
        keyring = Keyring(master: masterKey)
        let indexPath = path + "/index.sqlite"
        var opened: (index: LibraryIndex, isNew: Bool)
        do {
            opened = try Self.openIndex(at: indexPath, keyring: keyring)
        } catch let damage as IndexDamage {
            let aside = try Self.moveAside(indexPath)
            notice("the library index \(indexPath) is not a sound index of this library (\(damage)): "
                   + "moved it to \(aside); rebuilding the index from the store")
            opened = try Self.openIndex(at: indexPath, keyring: keyring)
        }
        index = opened.index
        let folder = Self.folderIdentity(path)
        let writer = try index.writer(folder: folder) ?? randomBytes(8).hexString
        changeLog = ChangeLog(store: store, index: index, keyring: keyring, writer: writer, device: Self.deviceName(path))
        ledger = ObjectLedger(store: store, index: index)
        func report(_ problems: [LogProblem]) {
            for problem in problems { notice("\(problem.object): \(problem.reason); `keepsake verify` lists it") }
        }
        if opened.isNew {
            do {
                report(try changeLog.rebuild())
                try index.record(identity: keyring.identity, writer: writer, folder: folder)
            } catch {
                // Leave no empty index behind, or the next run would take it for a real one and skip the rebuild.
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: indexPath + suffix) }
                if let error = error as? StoreError { throw LibraryError.store(error) }
                throw LibraryError.corruptIndex("cannot rebuild the index from the store: \(error)")
            }
        } else {
            try index.record(identity: keyring.identity, writer: writer, folder: folder)
            // Before any pull: an index from format 1 holds plain dedup hashes, which the log's keyed ones must meet.
            try normalizeItems()
            do {
                if try index.heads().isEmpty {
                    // An index from format 1: other machines' format-1 entries it never saw, then every log.
                    report(try changeLog.applyJournal() + changeLog.pull(full: true, push: false).problems + changeLog.recoverItemRecords())
                } else {
                    // Reading pulls; edits queued while the store was away wait for a command that writes, or `sync`.
                    report(try changeLog.pull(push: false).problems)
                }
            } catch let error as StoreError {
                // Reading needs no store; a command that writes meets the store's problem on its first write.
                notice("cannot bring the index up to date with the store (\(error)): showing what this machine knew")
            }
        }
        try normalizeItems()
        if storeFormat < KeyFile.currentVersion { try upgradeStore(notice: notice) }
        adoptIdentity(notice: notice)
    }

    /// The library folder's device and inode: an index found in another folder (a copy) gets a writer id of its own.
    private static func folderIdentity(_ path: String) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { return "" }
        return "\(info.st_dev):\(info.st_ino)"
    }

    /// The name other machines see for this one: host name and library folder.
    private static func deviceName(_ path: String) -> String {
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count - 1)
        let name = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(name.isEmpty ? "unknown host" : name):\(URL(fileURLWithPath: path).standardizedFileURL.path)"
    }

    /// Opens the index at `indexPath` and checks that it is this library's; throws `IndexDamage` when it is not.
    private static func openIndex(at indexPath: String, keyring: Keyring) throws -> (index: LibraryIndex, isNew: Bool) {
        let isNew = !FileManager.default.fileExists(atPath: indexPath)
        let index = try LibraryIndex(path: indexPath)
        guard !isNew else { return (index, true) }
        if let recorded = try index.identity() {
            guard recorded == keyring.identity else { throw IndexDamage(reason: "it is the index of another library") }
        } else if let wrapped = try index.anyAlbumKey(), !keyring.opensAlbumKey(wrapped) {
            // An index made before identities were recorded: it is this library's when its albums open with this
            // master key (one without albums holds no item to lose).
            throw IndexDamage(reason: "it is the index of another library")
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

    // MARK: Format 2

    /// Brings index rows written by format 1 to what format 2 records: dedup hashes keyed, and every item's file key
    /// wrapped for the item itself (taken from one of its album memberships).
    private func normalizeItems() throws {
        let plain = try index.plainDedupHashes()
        if !plain.isEmpty { try index.setDedupHashes(plain.map { ($0.itemId, keyring.keyedHash($0.hash)) }) }
        for itemId in try index.itemsWithoutOwnFileKey() {
            guard let key = try? fileKeyFromMembership(itemId) else { continue }
            try index.setWrappedFileKey(keyring.wrapFileKey(key), of: itemId)
        }
    }

    /// Upgrades a format-1 store in place: every item gets its record, a first checkpoint holds the whole library
    /// (and names the format-1 entries it holds), and last, as the commit point, the key file is rewritten as
    /// format 2. A crash before that leaves a format-1 store with some extra objects, and the next open upgrades
    /// again; nothing in `data/` is re-encrypted or moved.
    private func upgradeStore(notice: (String) -> Void) throws {
        let lock = try WriterLock(path: path + "/lock", waitingUpTo: .seconds(600), onWait: { _ in })
        defer { withExtendedLifetime(lock) {} }
        let keyFile = try KeyFile.read(from: store)
        guard keyFile.version < KeyFile.currentVersion else { return }
        for problem in try changeLog.applyJournal() { notice("\(problem.object): \(problem.reason)") }
        try normalizeItems()
        var count = 0
        for itemId in try index.allItemIds().sorted() {
            guard let state = try index.itemState(itemId) else { continue }
            try changeLog.putRecord(state)
            count += 1
        }
        try changeLog.writeCheckpoint()
        var upgraded = keyFile
        upgraded.version = KeyFile.currentVersion
        try store.put(KeyFile.objectName, bytes: try upgraded.encoded())
        notice("upgraded the store to format \(KeyFile.currentVersion) (\(count) item records and a checkpoint written; "
               + "no media object changed). Older keepsake versions can no longer open it.")
    }

    // MARK: Syncing

    /// What `sync` did.
    public struct SyncReport: Sendable {
        /// Changes other machines (or this folder's earlier runs) wrote, applied now.
        public var applied: Int
        /// Edits made while the store was away, written now.
        public var pushed: Int
        public var problems: [LogProblem]
        /// Edits that lost to another made at the same time (two machines renamed one album…), applied by this sync
        /// or by any command since the last sync; each is reported once.
        public var superseded: [SupersededEdit]
    }

    /// Brings the index up to date with the store (the log entries of every writer newer than those applied, with
    /// `full` every entry and every item record), and pushes the edits queued while the store was away.
    public func sync(full: Bool = false) throws -> SyncReport {
        let pulled = try changeLog.pull(full: full)
        let recovered = full ? try changeLog.recoverItemRecords() : []
        return SyncReport(applied: pulled.applied, pushed: pulled.pushed, problems: pulled.problems + recovered,
                          superseded: try index.takeSupersededEdits())
    }

    /// Where this machine stands with the others (`keepsake status`).
    public struct SyncStatus: Sendable, Encodable {
        public struct Device: Sendable, Encodable {
            public var writer: String
            public var name: String?
            public var lastChange: Date
            public var entries: UInt64
        }
        public var device: String
        public var writer: String
        public var lastSync: Date?
        /// Edits made while the store was away, not yet pushed.
        public var waitingEdits: Int
        /// Every other library folder that writes into the store, as far as this index knows.
        public var otherDevices: [Device]
    }

    public func syncStatus() throws -> SyncStatus {
        let others = try index.heads().filter { $0.key != changeLog.writer }.map { writer, head in
            SyncStatus.Device(writer: writer, name: head.device, lastChange: head.date, entries: head.sequence)
        }
        return SyncStatus(device: changeLog.device, writer: changeLog.writer, lastSync: try index.lastSync(),
                          waitingEdits: try index.queuedCount(), otherDevices: others.sorted { $0.lastChange > $1.lastChange })
    }

    /// Writes a checkpoint if enough changed since the last one (the end of a run: a lower bar than during one).
    public func checkpointIfDue() throws { try changeLog.checkpointIfDue(minimum: 64) }

    // MARK: Writing

    /// Takes the library's single-writer lock, brings the index up to date with the store (so this writer numbers
    /// its entries after its own last one), and cleans up what a killed run left behind: partial uploads and objects
    /// that were written but never committed. Returns how many orphans it removed.
    /// When another process holds the lock, calls `onWait` once with the holder (when known) and waits up to `timeout` for it.
    ///
    /// The local index is not trusted alone to say what is unreferenced: an object an item record in the store
    /// names stays (its item is recovered from the record), and when a log entry cannot be read nothing is deleted.
    ///
    /// With `offlineEdits` (album edits and deletions), a store that cannot be reached does not stop the command: its
    /// edits are applied here and queued (see `ChangeLog.append`), and nothing is cleaned up.
    public func lockForWriting(waitingUpTo timeout: Duration = .zero, offlineEdits: Bool = false,
                               onWait: (LockHolder?) -> Void = { _ in }) throws -> (lock: WriterLock, orphansRemoved: Int) {
        let lock = try WriterLock(path: path + "/lock", waitingUpTo: timeout, onWait: onWait)
        let pulled: ChangeLog.PullReport
        do {
            pulled = try changeLog.pull()
        } catch let error as StoreError where offlineEdits && error.isOutage {
            return (lock, 0)
        }
        let removed = try ledger.removeLeftovers(whenUnreadable: !pulled.problems.isEmpty) {
            try changeLog.recoverItemRecords()
        }
        return (lock, removed)
    }

    /// Starts storing one item's objects (see `UploadSession`).
    public func beginUpload() -> UploadSession { UploadSession(library: self) }

    /// When an item with the plaintext content hash `hash` exists, puts it in `album` (if needed) and says what
    /// happened; nil when it is new.
    public func resolveExisting(hash: String, album: AlbumTarget, sourceFiles: [SourceFileRecord],
                                reuploadDeleted: Bool = false) throws -> CommitOutcome? {
        try commitLock.withLock { queue in
            let keyed = keyring.keyedHash(hash)
            try commitQueued(&queue, holding: keyed)
            guard let existing = try index.item(dedupHash: keyed) else { return nil }
            return try resolve(existing, album: album, sourceFiles: sourceFiles, reuploadDeleted: reuploadDeleted)
        }
    }

    /// Puts the existing item `itemId` in `album` (if needed) and says what happened (a re-run's unchanged file).
    public func resolveExisting(itemId: String, album: AlbumTarget, sourceFiles: [SourceFileRecord],
                                reuploadDeleted: Bool = false) throws -> CommitOutcome? {
        try commitLock.withLock { _ in
            guard let existing = try index.item(id: itemId) else { return nil }
            return try resolve(existing, album: album, sourceFiles: sourceFiles, reuploadDeleted: reuploadDeleted)
        }
    }

    func resolve(_ existing: ItemRecord, album: AlbumTarget, sourceFiles: [SourceFileRecord],
                 reuploadDeleted: Bool) throws -> CommitOutcome {
        if existing.deletedAt != nil {
            guard reuploadDeleted else { return .previouslyDeleted(itemId: existing.id) }
            try changeLog.append(.restoration(itemId: existing.id))
        }
        let albumId = try ensureAlbum(album)
        if try index.isMember(itemId: existing.id, albumId: albumId) {
            try index.recordSources(sourceFiles, itemId: existing.id)
            return .duplicate(itemId: existing.id)
        }
        let membership = try membership(albumId: albumId, fileKey: try fileKey(of: existing.id))
        try changeLog.append(.membership(itemId: existing.id, membership)) { db in
            try self.index.recordSources(sourceFiles, itemId: existing.id, in: db)
        }
        return .addedToAlbum(itemId: existing.id)
    }

    /// Commits `item`, last of all its work (`objects` are those its session stored, in place but not yet durable,
    /// `digests` measured as they were stored): its objects made durable, then its own record, then its log entry,
    /// then its rows into the index in one transaction; in a run that groups commits, together with the other items
    /// queued (see `groupingCommits`). If an item with the same hash was committed or queued meanwhile (another
    /// worker, same bytes), nothing is committed and the existing item is used; the caller discards the new objects.
    func commit(_ item: NewItem, album: AlbumTarget, objects: [ObjectName],
                digests: (String) throws -> [ObjectDigest]) throws -> CommitOutcome {
        try commitLock.withLock { queue in
            let keyed = keyring.keyedHash(item.dedupHash)
            try commitQueued(&queue, holding: keyed)
            if let existing = try index.item(dedupHash: keyed) {
                return try resolve(existing, album: album, sourceFiles: item.sourceFiles, reuploadDeleted: false)
            }
            let albumId = try ensureAlbum(album)
            let state = try newState(of: item, digests: digests)
            let membership = try membership(albumId: albumId, fileKey: item.fileKey)
            try commitOrQueue(QueuedItem(state: state, membership: membership, sourceFiles: item.sourceFiles, objects: objects), in: &queue)
            return .stored(itemId: state.item.id)
        }
    }

    /// What a new item is, under a new random id.
    func newState(of item: NewItem, digests: (String) throws -> [ObjectDigest]) throws -> ItemState {
        let itemId = ObjectID.random().hex
        var problems: String?
        if !item.stageProblems.isEmpty {
            problems = String(decoding: try JSONEncoder().encode(item.stageProblems), as: UTF8.self)
        }
        let record = ItemRecord(id: itemId, type: item.type, dedupHash: keyring.keyedHash(item.dedupHash), createdAt: Date(),
                                deletedAt: nil, metadataJSON: item.metadataJSON, metadataObject: item.metadataObject?.path,
                                thumbnailObject: item.thumbnailObject?.path, streamObject: item.streamObject?.path,
                                playlistObject: item.playlistObject?.path, stageProblems: problems,
                                renditionObject: item.renditionObject?.path)
        let originals = item.originals.map { original in
            var original = original
            original.itemId = itemId
            return original
        }
        return ItemState(item: record, originals: originals, objects: try digests(itemId), wrappedFileKey: keyring.wrapFileKey(item.fileKey))
    }

    /// Marks an item deleted (`keepsake rm`): it leaves `ls` and export, and the same bytes are not uploaded again
    /// unless `--reupload-deleted` is given. Its objects stay, so nothing is lost by a mistaken `rm`.
    public func markDeleted(itemId: String) throws {
        try commitLock.withLock { _ in
            guard let item = try index.item(id: itemId) else { throw LibraryEditError.noSuchItem(itemId) }
            guard item.deletedAt == nil else { return }
            try changeLog.append(.deletion(itemId: itemId), queueIfOffline: true)
        }
    }

    /// Takes `itemId` out of the user album `albumName` (the user's choice, or its watched file left the folder);
    /// when that was its last album it moves to Uncategorized, its file key wrapped anew for it. Nothing is deleted.
    /// Returns false when the item is not in that album.
    @discardableResult
    public func moveOutOfAlbum(itemId: String, albumName: String) throws -> Bool {
        try commitLock.withLock { _ in
            let memberships = try index.memberships(of: itemId)
            guard let album = memberships.first(where: { $0.kind == .user && $0.name == albumName }) else { return false }
            var uncategorized: Membership?
            if memberships.count == 1 {
                uncategorized = try membership(albumId: try ensureAlbum(.uncategorized), fileKey: try fileKey(of: itemId))
            }
            try changeLog.append(.albumRemoval(itemId: itemId, albumId: album.id, uncategorized: uncategorized), queueIfOffline: true)
            return true
        }
    }

    func membership(albumId: String, fileKey: SecretKey) throws -> Membership {
        guard let album = try index.album(id: albumId) else { throw LibraryError.corruptIndex("album \(albumId) is missing") }
        let albumKey = try keyring.albumKey(id: album.id, wrapped: album.wrappedKey)
        return Membership(albumId: albumId, wrappedFileKey: Data(KeyWrap.wrap(fileKey, with: albumKey)))
    }

    /// The id of the album `target` names, creating (and logging) it when it does not exist.
    func ensureAlbum(_ target: AlbumTarget) throws -> String {
        let (name, kind): (String, AlbumRecord.Kind) = switch target {
        case .uncategorized: ("", .uncategorized)
        case .named(let name): (name, .user)
        }
        if let existing = try index.album(kind: kind, name: name) { return existing.id }
        let album = AlbumRecord(id: ObjectID.random().hex, name: name, kind: kind, wrappedKey: keyring.newAlbumKey(), createdAt: Date())
        try changeLog.append(.album(album), queueIfOffline: true)
        return album.id
    }

    /// Re-wraps the master key under a new passphrase (`keepsake passwd`); no other object changes.
    public func changePassphrase(to passphrase: String) throws {
        try store.put(KeyFile.objectName, bytes: try keyring.keyFile(passphrase: passphrase).encoded())
    }

    // MARK: Reading

    /// The key that decrypts every object of `itemId`.
    public func fileKey(of itemId: String) throws -> SecretKey {
        if let wrapped = try index.wrappedFileKey(of: itemId) { return try keyring.unwrapFileKey(wrapped) }
        if let shared = try sharedItem(itemId) { return try SecretKey(bytes: Array(shared.fileKey)) }
        return try fileKeyFromMembership(itemId)
    }

    private func fileKeyFromMembership(_ itemId: String) throws -> SecretKey {
        guard let membership = try index.anyMembership(of: itemId) else {
            throw LibraryError.corruptIndex("item \(itemId) has no key: it is in no album and has no key of its own")
        }
        let albumKey = try keyring.albumKey(id: membership.albumId, wrapped: membership.wrappedAlbumKey)
        return try KeyWrap.unwrap(Array(membership.wrappedFileKey), with: albumKey)
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
        let (store, expected) = try holder(of: name)
        guard let expected else { return try store.read(name, range: nil, into: sink) }
        let check = StoredBytesCheck(expected)
        try store.read(name, range: nil) { bytes in
            try check.update(bytes)
            try sink(bytes)
        }
        try check.finish()
    }

    /// The store that holds the object `name` (this library's, or the one an album shared with it is in) and the
    /// digest recorded for it; nil for an own object stored before objects had digests.
    func holder(of name: ObjectName) throws -> (store: any ObjectStore, digest: ObjectDigest?) {
        if let digest = try index.digest(of: name.path) { return (store, digest) }
        if let shared = try sharedObject(name.path) { return (shared.store, shared.digest) }
        return (store, nil)
    }

    /// The size of the object `name` in the store; nil when it is missing.
    func storedSize(of name: ObjectName) throws -> UInt64? { try store.size(of: name) }
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
