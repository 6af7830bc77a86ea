import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Objects in this process's memory: a store for tests of the store suite and the pipeline that need no disk and
/// no server. A `capacity` makes it behave as a full disk once its objects would exceed it (`ENOSPC`).
public final class MemoryStore: ObjectStore, CustomStringConvertible {
    private struct Contents {
        var objects: [ObjectName: [UInt8]] = [:]
        /// When each object was last written, for listings.
        var modified: [ObjectName: Date] = [:]
        var capacity: Int?
        /// The name of every writer made, in order: what tests count to prove an upload was not even begun.
        var writersMade: [ObjectName] = []
        var used: Int { objects.values.reduce(0) { $0 + $1.count } }
        func isFull(adding count: Int) -> Bool { capacity.map { used + count > $0 } ?? false }
    }
    private let contents: Mutex<Contents>
    /// Told apart in messages and in the library folder's record of its store.
    public let id = ObjectID.random().hex

    public init(capacity: Int? = nil) {
        contents = Mutex(Contents(capacity: capacity))
    }

    public var description: String { "memory:\(id)" }

    /// Bytes the objects may hold at most; nil: no limit. A write that would pass it fails with `ENOSPC`.
    public var capacity: Int? {
        get { contents.withLock { $0.capacity } }
        set { contents.withLock { $0.capacity = newValue } }
    }

    public func makeWriter(for name: ObjectName) throws(StoreError) -> any ObjectWriter {
        contents.withLock { $0.writersMade.append(name) }
        return MemoryObjectWriter(store: self, name: name)
    }

    /// How many writes were begun of objects under `prefix` (committed, aborted or not).
    public func writesBegun(under prefix: String) -> Int {
        contents.withLock { $0.writersMade.filter { $0.path.hasPrefix(prefix) }.count }
    }

    public func read(_ name: ObjectName, range: Range<UInt64>?, into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let bytes = contents.withLock({ $0.objects[name] }) else { throw StoreError.notFound(name.path) }
        let end = min(range?.upperBound ?? UInt64(bytes.count), UInt64(bytes.count))
        let start = min(range?.lowerBound ?? 0, end)
        guard start < end else { return }
        try bytes[Int(start)..<Int(end)].withUnsafeBytes { try sink($0) }
    }

    public func size(of name: ObjectName) throws(StoreError) -> UInt64? {
        contents.withLock { $0.objects[name].map { UInt64($0.count) } }
    }

    public func list(prefix: String, after: String?) throws(StoreError) -> [ObjectName] {
        contents.withLock { $0.objects.keys.filter { $0.isListed(prefix: prefix, after: after) } }.sorted()
    }

    public func listing(prefix: String) throws(StoreError) -> [StoredObject] {
        contents.withLock { contents in
            contents.objects.keys.filter { $0.path.hasPrefix(prefix) }
                .map { StoredObject(name: $0, modified: contents.modified[$0] ?? .distantPast) }
        }.sorted { $0.name < $1.name }
    }

    public func delete(_ name: ObjectName) throws(StoreError) {
        contents.withLock { contents in
            contents.objects[name] = nil
            contents.modified[name] = nil
        }
    }

    /// The check and the write under one lock; an existing object is reported (false) even when the store is full.
    @discardableResult
    public func putIfAbsent(_ name: ObjectName, bytes: [UInt8]) throws(StoreError) -> Bool {
        try contents.withLock { (contents) throws(StoreError) -> Bool in
            guard contents.objects[name] == nil else { return false }
            if contents.isFull(adding: bytes.count) { throw diskFull(writing: name) }
            contents.objects[name] = bytes
            contents.modified[name] = Date()
            return true
        }
    }

    /// A writer's bytes are its own until it commits: nothing is ever half-written.
    public func removeAbandonedUploads(of orphans: [ObjectName]) throws(StoreError) {}

    /// Reserves room for `count` more bytes of pending uploads, as a disk's blocks are taken at write time.
    fileprivate func reserve(_ count: Int, for name: ObjectName, pending: Int) throws(StoreError) {
        if contents.withLock({ $0.isFull(adding: pending + count) }) { throw diskFull(writing: name) }
    }

    private func diskFull(writing name: ObjectName) -> StoreError {
        .io(operation: "write", path: "\(self)/\(name)", errno: ENOSPC)
    }

    fileprivate func store(_ bytes: [UInt8], as name: ObjectName) {
        contents.withLock { contents in
            contents.objects[name] = bytes
            contents.modified[name] = Date()
        }
    }
}

private final class MemoryObjectWriter: ObjectWriter {
    private let store: MemoryStore
    private let name: ObjectName
    private var bytes: [UInt8] = []
    private var closed = false

    init(store: MemoryStore, name: ObjectName) {
        self.store = store
        self.name = name
    }

    func write(_ buffer: UnsafeRawBufferPointer) throws(StoreError) {
        guard !closed else { throw .unusable("writer for \(name) already closed") }
        try store.reserve(buffer.count, for: name, pending: bytes.count)
        bytes.append(contentsOf: buffer)
    }

    func commit() throws(StoreError) {
        guard !closed else { throw .unusable("writer for \(name) already closed") }
        closed = true
        store.store(bytes, as: name)
        bytes = []
    }

    func abort() {
        closed = true
        bytes = []
    }
}
