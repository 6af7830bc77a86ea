import Foundation
import Synchronization

/// What this library folder is writing into the store: every data object from the moment its upload begins
/// (`pending`) until the item that owns it commits (`committed`, by the change that applies the item; `stored`, between
/// the two, is what earlier versions recorded once an object was durable). A run killed at any point leaves only pending or stored objects, which the next writer
/// removes, after checking that no item in the store names them.
final class ObjectLedger: Sendable {
    private let store: any ObjectStore
    private let index: LibraryIndex
    /// The size and BLAKE2b of each object this process stored and has not yet committed or discarded.
    private let written = Mutex<[ObjectName: WrittenBytes]>([:])
    /// `--limit-upload`: what every data object's bytes wait for on their way to the store.
    let uploadLimit = Mutex<UploadLimit?>(nil)

    init(store: any ObjectStore, index: LibraryIndex) {
        self.store = store
        self.index = index
    }

    /// Starts writing a new object under a random name, recorded as pending; the writer measures what it stores.
    /// The object is in place when the writer commits, but durable only after `makeDurable`, which its item's commit
    /// calls for all the objects of a group of items at once.
    func begin() throws -> (ObjectName, any ObjectWriter) {
        let name = ObjectName.randomData()
        try index.recordObject(name, as: .pending)
        let stored = try store.makeWriter(for: name, durably: false)
        let limited = uploadLimit.withLock { $0 }.map { LimitedWriter(stored, limit: $0) } ?? stored
        let writer = HashingWriter(limited) { bytes in
            self.written.withLock { $0[name] = bytes }
        }
        return (name, writer)
    }

    /// Makes objects this ledger began survive a crash (before anything names them).
    func makeDurable(_ names: [ObjectName]) throws { try store.makeDurable(names) }

    /// What the writer measured of `name`; nil when this process did not store it.
    func measured(_ name: ObjectName) -> WrittenBytes? { written.withLock { $0[name] } }

    /// The objects are now part of a committed item (the change that committed it marked them in the index).
    func committed(_ names: [ObjectName]) { written.withLock { written in for name in names { written[name] = nil } } }

    /// Removes objects that will not be committed (a duplicate found late, or a failed file).
    func discard(_ names: [ObjectName]) throws {
        for name in names { try store.delete(name) }
        try index.forget(names)
        committed(names)
    }

    /// Removes what a killed run of this folder left: partial uploads, and data objects begun and never committed
    /// that no item names once `recover` has applied the item records the index lacked. With `whenUnreadable`
    /// (something in the log did not open, which might name them) nothing is deleted. Returns how many it removed.
    func removeLeftovers(whenUnreadable: Bool, recover: () throws -> [LogProblem]) throws -> Int {
        let uncommitted = try index.uncommittedObjects()
        guard !uncommitted.isEmpty else {
            try store.removeAbandonedUploads(of: [])
            return 0
        }
        _ = try recover()
        // Objects an item names were committed by the change that applied it; only data objects can be orphans
        // (a format-1 journal entry left pending is the journal's business).
        let still = Set(try index.uncommittedObjects())
        try index.forget(still.filter { !$0.path.hasPrefix("data/") }.sorted { $0.path < $1.path })
        let orphans = whenUnreadable ? [] : still.filter { $0.path.hasPrefix("data/") }.sorted { $0.path < $1.path }
        try store.removeAbandonedUploads(of: orphans)
        for name in orphans { try store.delete(name) }
        try index.forget(orphans)
        return orphans.count
    }
}
