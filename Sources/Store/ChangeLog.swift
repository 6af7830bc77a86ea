import Foundation
import GRDB
import KeepsakeCrypto
import Synchronization

/// Something in the store's log that could not be used: reported, never guessed at, never applied.
public struct LogProblem: Sendable, CustomStringConvertible {
    /// The store object (a log entry, item record, checkpoint part or format-1 journal entry).
    public var object: String
    public var reason: String
    public var description: String { "\(object): \(reason)" }
}

/// The library's change log in the store (format 2): each library folder writes its changes as its own numbered,
/// chained, sealed entries (`log/<time>-<writer>-<sequence>`); every item also has a record of its own
/// (`items/<id>`); and checkpoints (`checkpoints/…`) hold the whole state, so that a rebuild reads the newest
/// checkpoint and the entries after it. A change written now and a change read back from the store go through the
/// same `LibraryIndex.apply`.
final class ChangeLog: Sendable {
    let store: any ObjectStore
    let index: LibraryIndex
    let keyring: Keyring
    let writer: String
    let device: String
    /// Serialises appends and pulls: a writer's entries are numbered and chained in one order.
    private let lock = Mutex(())

    /// A listing starts this long before the newest entry seen, so that an entry named by a writer whose clock is
    /// behind, or written while the listing ran, is still found.
    static let listingMargin: UInt64 = 15 * 60 * 1_000_000

    init(store: any ObjectStore, index: LibraryIndex, keyring: Keyring, writer: String, device: String) {
        self.store = store
        self.index = index
        self.keyring = keyring
        self.writer = writer
        self.device = device
    }

    // MARK: Writing

    /// Writes `change` as this writer's next entry, then applies it to the index together with `also`, in one
    /// transaction. The caller holds the library's writer lock. Returns what `LibraryIndex.apply` returned.
    /// With `queueIfOffline`, a change the store cannot take now (it is unreachable) is applied here and queued, and
    /// the next successful pull pushes it; an item is never queued (its objects need the store anyway).
    @discardableResult
    func append(_ change: Change, queueIfOffline: Bool = false, also: (Database) throws -> Void = { _ in }) throws -> Bool {
        try lock.withLock { _ in
            do {
                let (head, time) = try write(change, madeAt: nil)
                return try index.write { db in
                    let applied = try index.apply(change, at: time, in: db)
                    try index.advance(writer: writer, to: head, in: db)
                    try also(db)
                    return applied.changed
                }
            } catch let error as StoreError where queueIfOffline && error.isOutage {
                let time = Date()
                return try index.write { db in
                    try index.queue(change, at: time, in: db)
                    try also(db)
                    return try index.apply(change, at: time, in: db).changed
                }
            }
        }
    }

    /// Writes `changes` as this writer's next entries, each with its `also`, as a group (group commit): every entry is
    /// put in place, then all are made durable in one pass, then all are applied to the index in one transaction, so
    /// that none is applied before it is durable. A run killed before that transaction leaves entries in the store
    /// that the next pull applies, as it applies any entry the index has not seen. The caller holds the writer lock.
    func append(group changes: [(change: Change, also: (Database) throws -> Void)]) throws {
        guard !changes.isEmpty else { return }
        try lock.withLock { _ in
            var heads = try index.heads()
            var written: [(name: LogEntryName, head: LogHead, time: Date)] = []
            for (change, _) in changes {
                let entry = try write(change, madeAt: nil, heads: heads, durably: false)
                heads[writer] = entry.head
                written.append(entry)
            }
            try store.makeDurable(written.map(\.name.objectName))
            try index.write { db in
                for ((change, also), entry) in zip(changes, written) {
                    _ = try index.apply(change, at: entry.time, in: db)
                    try index.advance(writer: writer, to: entry.head, in: db)
                    try also(db)
                }
            }
        }
    }

    /// Writes `change` as this writer's next log entry; returns the writer's new head and the change's time: `made`
    /// for an edit queued while the store was away, else now. `heads` are the index's, or those a group being written
    /// has reached; an entry written with `durably: false` is made durable by the caller (see `append(group:)`).
    ///
    /// The entry is named, and a live change timed, never before any entry this writer has seen, so that a reader
    /// listing after that entry finds it; and a millisecond after it (the index keeps times to the millisecond), so
    /// that an edit made after seeing another always wins over it (see "Conflicts" in docs/store-format.md).
    private func write(_ change: Change, madeAt made: Date?) throws -> (LogHead, Date) {
        let written = try write(change, madeAt: made, heads: try index.heads(), durably: true)
        return (written.head, written.time)
    }

    private func write(_ change: Change, madeAt made: Date?, heads: [String: LogHead],
                       durably: Bool) throws -> (name: LogEntryName, head: LogHead, time: Date) {
        let own = heads[writer]
        let newest = heads.values.map(\.time).max() ?? 0
        let nameTime = max(Date().microseconds, newest + 1_001)
        let time = made ?? Date(timeIntervalSince1970: Double(nameTime) / 1_000_000)
        let name = LogEntryName(time: nameTime, writer: writer, sequence: (own?.sequence ?? 0) + 1)
        let entry = LogEntry(previous: own?.hash, time: time, device: device, change: change)
        let sealed = try keyring.seal(entry, kind: .log, name: name.objectName)
        guard try store.putIfAbsent(name.objectName, bytes: sealed, durably: durably) else {
            throw LibraryError.corruptIndex("log entry \(name.objectName) exists already: another library folder uses this "
                                            + "folder's writer id (a copied library folder?)")
        }
        return (name, LogHead(sequence: name.sequence, hash: LogHead.hash(ofSealed: sealed), time: name.time, device: device), time)
    }

    /// Pushes the changes queued while the store was away, in the order they were made (they are applied here already).
    private func pushQueued() throws -> Int {
        let queued = try index.queuedChanges()
        for (id, change, time) in queued {
            let (head, _) = try write(change, madeAt: time)
            try index.write { db in
                try index.advance(writer: writer, to: head, in: db)
                try index.dequeue(id, in: db)
            }
        }
        return queued.count
    }

    /// Writes an item's own record (before the log entry that commits it); with `durably: false` the caller makes it
    /// durable (`store.makeDurable`) before that entry is written. Returns its name.
    @discardableResult
    func putRecord(_ state: ItemState, durably: Bool = true) throws -> ObjectName {
        let name = ItemRecordName.objectName(itemId: state.item.id)
        try store.put(name, bytes: try keyring.seal(state, kind: .item, name: name), durably: durably)
        return name
    }

    // MARK: Reading

    /// What a pull did.
    struct PullReport {
        var applied = 0
        /// Changes queued while the store was away, now written.
        var pushed = 0
        var problems: [LogProblem] = []
    }

    /// Brings the index up to date with every writer's log: lists the entries named after the newest one it has
    /// seen (less `listingMargin`; all with `full`), and applies each entry not yet applied, writer by writer in
    /// sequence. An entry that does not open or parse, a gap in a writer's numbers, or an entry that does not
    /// name its predecessor's hash is reported; an entry that does not open is never applied.
    /// With `push`, the changes queued while the store was away are written afterwards.
    func pull(full: Bool = false, push: Bool = true) throws -> PullReport {
        try lock.withLock { _ in try pullLocked(full: full, push: push) }
    }

    private func pullLocked(full: Bool, push: Bool) throws -> PullReport {
        var heads = try index.heads()
        let newest = heads.values.map(\.time).max() ?? 0
        let after = full || newest <= Self.listingMargin ? nil : LogEntryName.listingStart(time: newest - Self.listingMargin)
        let known = try index.unreadableObjects()
        var report = PullReport()
        var names: [LogEntryName] = []
        for object in try store.list(prefix: LogEntryName.prefix, after: after) {
            if let name = LogEntryName(object) {
                names.append(name)
            } else if !known.contains(object.path) {
                // Junk under log/: reported once, like an entry that does not open.
                report.problems.append(LogProblem(object: object.path, reason: "not a log entry name"))
                try index.recordUnreadable(object.path, reason: "not a log entry name")
            }
        }
        names.sort()
        var batch: [(LogEntryName, LogEntry, LogHead)] = []
        func flush() throws {
            guard !batch.isEmpty else { return }
            try index.write { db in
                for (name, entry, head) in batch {
                    // Kept until `sync` reports them: any command's pull may be the one that applies them.
                    try index.recordSuperseded(try index.apply(entry.change, at: entry.time, in: db).superseded, in: db)
                    try index.advance(writer: name.writer, to: head, in: db)
                }
            }
            report.applied += batch.count
            batch.removeAll()
        }
        /// Applies entry `name`, given what reading it gave; `read` is nil for one numbered at or below the head the
        /// pull started from, which is not read.
        func take(_ name: LogEntryName, read: Result<([UInt8], LogEntry), any Error>?) throws {
            let previous = heads[name.writer]
            guard !known.contains(name.objectName.path) else { return }
            if let previous, name.sequence <= previous.sequence {
                // A number this writer already used, under a newer name: two folders write under one id (a copied
                // library folder). Reported once; its change is not applied, since the chain cannot vouch for it.
                if name.time > previous.time {
                    let reason = "writer \(name.writer) has two entries numbered \(name.sequence) (two library folders with one "
                        + "writer id: a copied library folder?): this one is not applied"
                    report.problems.append(LogProblem(object: name.objectName.path, reason: reason))
                    try index.recordUnreadable(name.objectName.path, reason: reason)
                }
                return
            }
            guard let read else { preconditionFailure("entry \(name.objectName.path) above the pull's first head was not read") }
            let sealed: [UInt8]
            let entry: LogEntry
            do {
                (sealed, entry) = try read.get()
            } catch StoreError.notFound {
                return  // deleted since the listing
            } catch let error as StoreError {
                throw error  // the store cannot be read: that ends the run, it says nothing about the entry
            } catch {
                let reason = "log entry cannot be read (\(error)): skipped, not applied"
                report.problems.append(LogProblem(object: name.objectName.path, reason: reason))
                try index.recordUnreadable(name.objectName.path, reason: reason)
                return
            }
            let expected = (previous?.sequence ?? 0) + 1
            if name.sequence != expected {
                report.problems.append(LogProblem(object: name.objectName.path, reason: "entries \(expected)…\(name.sequence - 1) of "
                    + "writer \(name.writer) are missing from the store (dropped, or unreadable): what they changed is lost"))
            } else if entry.previous != previous?.hash {
                report.problems.append(LogProblem(object: name.objectName.path, reason: "it does not follow writer \(name.writer)'s "
                    + "entry \(expected - 1) as stored (the entry before it was replaced)"))
            }
            let head = LogHead(sequence: name.sequence, hash: LogHead.hash(ofSealed: sealed), time: name.time, device: entry.device)
            heads[name.writer] = head
            batch.append((name, entry, head))
            if batch.count >= 500 { try flush() }
        }
        // The entries above the heads the pull starts from are read and opened ahead, on other threads (on S3 several
        // GETs at once); every listed name is then taken in order here, against the heads as they advance.
        let listed = names, headsBefore = heads, (store, keyring) = (store, keyring)
        let toRead = listed.indices.filter { position in
            !known.contains(listed[position].objectName.path) && listed[position].sequence > headsBefore[listed[position].writer]?.sequence ?? 0
        }
        var taken = 0
        try forEachPrefetched(count: toRead.count, window: Self.entriesAhead, make: { number in
            let name = listed[toRead[number]]
            return Result {
                let sealed = try store.get(name.objectName, limit: LogEntry.maxByteCount)
                return (sealed, try keyring.open(LogEntry.self, from: sealed, kind: .log, name: name.objectName))
            }
        }) { number, read in
            while taken < toRead[number] { try take(listed[taken], read: nil); taken += 1 }
            try take(listed[taken], read: read)
            taken += 1
        }
        while taken < listed.count { try take(listed[taken], read: nil); taken += 1 }
        try flush()
        if push { report.pushed = try pushQueued() }
        try index.recordSync(at: Date())
        return report
    }

    // MARK: Rebuilding

    /// Fills a new, empty index from the store: the newest checkpoint that opens whole, the format-1 journal entries
    /// it does not hold, every log entry after its heads, and the record of any item none of them names.
    func rebuild() throws -> [LogProblem] {
        var problems = try applyNewestCheckpoint()
        problems += try applyJournal()
        problems += try pull(full: true).problems
        problems += try recoverItemRecords()
        // Edits that lost long ago were reported where they lost; a new folder does not report them again.
        _ = try index.takeSupersededEdits()
        return problems
    }

    private func applyNewestCheckpoint() throws -> [LogProblem] {
        var problems: [LogProblem] = []
        let parts = try store.list(prefix: CheckpointName.prefix).compactMap(CheckpointName.init)
        let checkpoints = Dictionary(grouping: parts, by: \.base).sorted { ($0.value[0].time, $0.key) > ($1.value[0].time, $1.key) }
        for (base, parts) in checkpoints {
            do {
                let fresh = try index.allItemIds().isEmpty
                let first = parts[0]
                let (store, keyring) = (store, keyring)
                try index.write { db in
                    // The parts are read and opened ahead, on other threads, while the one before is applied.
                    try forEachPrefetched(count: first.parts, window: Self.checkpointPartsAhead, make: { number in
                        let name = CheckpointName(time: first.time, writer: first.writer, part: number, parts: first.parts).objectName
                        return Result { () throws -> CheckpointPart in
                            let sealed: [UInt8]
                            do { sealed = try store.get(name, limit: CheckpointPart.maxByteCount) }
                            catch StoreError.notFound { throw CheckpointUnusable(reason: "part \(name) is missing") }
                            return try keyring.open(CheckpointPart.self, from: sealed, kind: .checkpoint, name: name)
                        }
                    }, use: { _, part in try index.apply(try part.get(), fresh: fresh, in: db) })
                }
                return problems
            } catch let error as StoreError {
                throw error
            } catch let error as LibraryError {
                throw error
            } catch {
                problems.append(LogProblem(object: CheckpointName.prefix + base,
                                           reason: "checkpoint cannot be read (\(error)): skipped; an older one and the log are used"))
            }
        }
        return problems
    }

    /// Log entries read ahead of the one being applied: small objects, and on S3 each a round trip.
    private static let entriesAhead = 16

    /// Checkpoint parts opened ahead of the one being applied: each is up to 2,000 items (tens of MB decoded).
    private static let checkpointPartsAhead = 2

    private struct CheckpointUnusable: Error, CustomStringConvertible {
        var reason: String
        var description: String { reason }
    }

    /// Applies the format-1 journal entries (`index/`) the index has not applied, in time order.
    func applyJournal() throws -> [LogProblem] {
        let applied = try index.journalEntries()
        var problems: [LogProblem] = []
        var entries: [(name: ObjectName, entry: JournalEntry)] = []
        for name in try store.list(prefix: JournalEntry.prefix) where !applied.contains(name.path) {
            do {
                entries.append((name, try keyring.openJournalEntry(try store.get(name, limit: JournalEntry.maxByteCount))))
            } catch StoreError.notFound {
                continue
            } catch let error as StoreError {
                throw error
            } catch {
                problems.append(LogProblem(object: name.path, reason: "journal entry cannot be read (\(error)): skipped"))
            }
        }
        entries.sort { ($0.entry.time, $0.name.path) < ($1.entry.time, $1.name.path) }
        try index.write { db in
            for (name, entry) in entries {
                try index.apply(try change(of: entry, in: db), at: entry.time, in: db)
                try index.recordJournalEntry(name.path, in: db)
            }
        }
        return problems
    }

    /// A format-1 journal entry as a format-2 change: its dedup hash keyed, its file key wrapped for the item.
    private func change(of entry: JournalEntry, in db: Database) throws -> Change {
        switch entry.change {
        case .album(let album): return .album(album)
        case .item(var item, let originals, let memberships, _):
            item.dedupHash = keyring.keyedHash(item.dedupHash)
            var wrapped: Data?
            if let first = memberships.first, let album = try index.albumRecord(first.albumId, in: db),
               let albumKey = try? keyring.albumKey(id: album.id, wrapped: album.wrappedKey),
               let fileKey = try? KeyWrap.unwrap(Array(first.wrappedFileKey), with: albumKey) {
                wrapped = keyring.wrapFileKey(fileKey)
            }
            let state = ItemState(item: item, originals: originals, objects: entry.objectDigests ?? [], wrappedFileKey: wrapped)
            return .item(state, memberships: memberships.map { Membership(albumId: $0.albumId, wrappedFileKey: $0.wrappedFileKey) })
        case .membership(let itemId, let membership):
            return .membership(itemId: itemId, Membership(albumId: membership.albumId, wrappedFileKey: membership.wrappedFileKey))
        case .deletion(let itemId): return .deletion(itemId: itemId)
        case .restoration(let itemId): return .restoration(itemId: itemId)
        case .albumRemoval(let itemId, let albumId, let uncategorized):
            return .albumRemoval(itemId: itemId, albumId: albumId,
                                 uncategorized: uncategorized.map { Membership(albumId: $0.albumId, wrappedFileKey: $0.wrappedFileKey) })
        }
    }

    /// Items whose record is in the store but that no checkpoint or entry the index applied names (a lost log
    /// entry, or a commit under way elsewhere): applied from the record, in no album, and reported.
    func recoverItemRecords() throws -> [LogProblem] {
        let known = try index.allItemIds()
        let badOnes = try index.unreadableObjects()
        var problems: [LogProblem] = []
        for name in try store.list(prefix: ItemRecordName.prefix) {
            guard let itemId = ItemRecordName.itemId(name), !known.contains(itemId), !badOnes.contains(name.path) else { continue }
            do {
                let state = try readRecord(name)
                let change = state.replaces.map { Change.livePhotoMerge(state, replacing: $0, memberships: []) } ?? .item(state, memberships: [])
                _ = try index.write { db in try index.apply(change, at: state.item.createdAt, in: db) }
                problems.append(LogProblem(object: name.path, reason: "item \(itemId) is named by no log entry or checkpoint "
                    + "(its entry was lost, or another machine is committing it now): recovered from its record, in no album"))
            } catch let error as StoreError {
                if case .notFound = error { continue }
                throw error
            } catch {
                let reason = "item record cannot be read (\(error)): skipped"
                problems.append(LogProblem(object: name.path, reason: reason))
                try index.recordUnreadable(name.path, reason: reason)
            }
        }
        return problems
    }

    func readRecord(_ name: ObjectName) throws -> ItemState {
        try keyring.open(ItemState.self, from: try store.get(name, limit: LogEntry.maxByteCount), kind: .item, name: name)
    }

    // MARK: Checkpoints

    /// Writes a checkpoint when enough entries were applied since the last one: 200, or a quarter of the library's
    /// items if more, so that a rebuild reads at most that many entries and a long ingest writes about a dozen
    /// checkpoints; `minimum` lowers the bar (the end of a run). Keeps this writer's two newest checkpoints.
    func checkpointIfDue(minimum: Int? = nil) throws {
        let since = try index.entriesSinceCheckpoint()
        let items = try index.counts().items
        guard since > 0, since >= (minimum ?? max(200, items / 4)) else { return }
        try writeCheckpoint()
    }

    func writeCheckpoint() throws {
        try lock.withLock { _ in
            let time = Date()
            let parts = try index.checkpointParts(time: time)
            for (number, part) in parts.enumerated() {
                let name = CheckpointName(time: time.microseconds, writer: writer, part: number, parts: parts.count).objectName
                try store.put(name, bytes: try keyring.seal(part, kind: .checkpoint, name: name))
            }
            try index.resetEntriesSinceCheckpoint()
            let own = try store.list(prefix: CheckpointName.prefix).compactMap(CheckpointName.init).filter { $0.writer == writer }
            let bases = Set(own.map(\.time)).sorted(by: >)
            for old in own where bases.dropFirst(2).contains(old.time) { try store.delete(old.objectName) }
        }
    }
}

extension ChangeLog {
    /// What the store itself says is part of the library, read in full for `verify`: every log entry of every
    /// writer (with each writer's chain checked from its first entry), every item record, every checkpoint, every
    /// format-1 journal entry, and the objects they name.
    struct StoreScan {
        var referenced = Set<String>()
        var problems: [LogProblem] = []
        /// True when a log entry, item record or journal entry could not be read: it may name objects, so a
        /// repair deletes nothing. (A checkpoint only repeats what entries and records hold.)
        var hasUnreadableReferences = false
        var objectsRead = 0
    }

    func scan() throws -> StoreScan {
        var scan = StoreScan()
        func unreadable(_ name: ObjectName, _ what: String, _ error: any Error, blocksRepair: Bool = true) {
            scan.problems.append(LogProblem(object: name.path, reason: "\(what) cannot be read (kept): \(error)"))
            if blocksRepair { scan.hasUnreadableReferences = true }
        }
        // Every item the store describes, by id: of two with one dedup hash only the winner's objects are referenced
        // (the smaller id, as `LibraryIndex.apply` decides), so a lost race's objects become orphans for a repair.
        // An item a Live Photo replaced references nothing of its own: what the Live Photo reuses, it names itself.
        // An item's objects are those any of its descriptions names: a rendition made later is in its log entry and
        // newer records and checkpoints, not in older ones.
        var items: [String: (hash: String, objects: [String])] = [:]
        var renditions: [String: [String]] = [:]
        var replaced = Set<String>()
        func reference(_ state: ItemState) {
            items[state.item.id, default: (state.item.dedupHash, [])].objects += state.referencedObjects
        }
        func reference(_ change: Change) {
            switch change {
            case .item(let state, _): reference(state)
            case .livePhotoMerge(let state, let old, _):
                reference(state)
                replaced.insert(old)
            case .rendition(let itemId, let digest): renditions[itemId, default: []].append(digest.name)
            default: break
            }
        }
        var chains: [String: (sequence: UInt64, hash: String)] = [:]
        for object in try store.list(prefix: LogEntryName.prefix, after: nil) {
            scan.objectsRead += 1
            guard let name = LogEntryName(object) else {
                unreadable(object, "object under log/", SealedObjectError.doesNotParse("not a log entry name"))
                continue
            }
            do {
                let sealed = try store.get(object, limit: LogEntry.maxByteCount)
                let entry = try keyring.open(LogEntry.self, from: sealed, kind: .log, name: object)
                reference(entry.change)
                let previous = chains[name.writer]
                let expected = (previous?.sequence ?? 0) + 1
                if name.sequence > expected {
                    scan.problems.append(LogProblem(object: object.path, reason: "entries \(expected)…\(name.sequence - 1) of "
                        + "writer \(name.writer) are missing from the store (dropped)"))
                } else if name.sequence < expected {
                    scan.problems.append(LogProblem(object: object.path, reason: "writer \(name.writer) has two entries numbered "
                        + "\(name.sequence) (two library folders with one writer id: a copied library folder?)"))
                } else if entry.previous != previous?.hash {
                    scan.problems.append(LogProblem(object: object.path, reason: "it does not name the hash of writer "
                        + "\(name.writer)'s entry \(expected - 1) as stored (that entry was replaced)"))
                }
                chains[name.writer] = (max(name.sequence, previous?.sequence ?? 0), LogHead.hash(ofSealed: sealed))
            } catch StoreError.notFound {
                continue
            } catch let error as StoreError {
                throw error
            } catch {
                unreadable(object, "log entry", error)
            }
        }
        // Entries this index applied that the store no longer has: the end of a writer's log was dropped.
        for (writer, head) in try index.heads() where head.sequence > chains[writer]?.sequence ?? 0 {
            let first = (chains[writer]?.sequence ?? 0) + 1
            scan.problems.append(LogProblem(object: "log/…-\(writer)-…", reason: "entries \(first)…\(head.sequence) of writer "
                + "\(writer), applied here, are missing from the store (dropped)"))
        }
        for object in try store.list(prefix: ItemRecordName.prefix) {
            scan.objectsRead += 1
            do {
                let state = try readRecord(object)
                reference(state.replaces.map { .livePhotoMerge(state, replacing: $0, memberships: []) } ?? .item(state, memberships: []))
            }
            catch StoreError.notFound { continue }
            catch let error as StoreError { throw error }
            catch { unreadable(object, "item record", error) }
        }
        let parts = try store.list(prefix: CheckpointName.prefix)
        var checkpoints: [String: (count: Int, seen: Set<Int>)] = [:]
        for object in parts {
            scan.objectsRead += 1
            guard let name = CheckpointName(object) else {
                unreadable(object, "object under checkpoints/", SealedObjectError.doesNotParse("not a checkpoint name"), blocksRepair: false)
                continue
            }
            do {
                let part = try keyring.open(CheckpointPart.self, from: try store.get(object, limit: CheckpointPart.maxByteCount),
                                            kind: .checkpoint, name: object)
                for item in part.items { reference(item.state) }
                checkpoints[name.base, default: (name.parts, [])].seen.insert(name.part)
            } catch StoreError.notFound {
                continue
            } catch let error as StoreError {
                throw error
            } catch {
                unreadable(object, "checkpoint part", error, blocksRepair: false)
            }
        }
        for (base, checkpoint) in checkpoints where checkpoint.seen.count < checkpoint.count {
            scan.problems.append(LogProblem(object: CheckpointName.prefix + base, reason: "checkpoint is incomplete "
                + "(\(checkpoint.seen.count) of \(checkpoint.count) parts open): a rebuild uses an older one and the log"))
        }
        for object in try store.list(prefix: JournalEntry.prefix) {
            scan.objectsRead += 1
            do {
                let entry = try keyring.openJournalEntry(try store.get(object, limit: JournalEntry.maxByteCount))
                if case .item(let item, _, _, _) = entry.change {
                    items[item.id, default: (keyring.keyedHash(item.dedupHash), [])].objects += entry.referencedObjects
                }
            }
            catch StoreError.notFound { continue }
            catch let error as StoreError { throw error }
            catch { unreadable(object, "journal entry", error) }
        }
        for (id, names) in renditions { items[id]?.objects += names }
        var winners: [String: String] = [:]
        for (id, item) in items where winners[item.hash].map({ id < $0 }) ?? true { winners[item.hash] = id }
        for id in winners.values where !replaced.contains(id) { scan.referenced.formUnion(items[id]!.objects) }
        return scan
    }
}
