import Foundation
import KeepsakeCrypto
import Synchronization

/// The objects of one item on their way into the store, and then the item's commit: what Pipeline uses, so that it
/// never sees the ledger, object names' bookkeeping or digests. Every object is sealed with the item's file key
/// except the stream (HLS AES-128, encrypted by its producer). `commit` or `discard` ends the session.
public final class UploadSession: Sendable {
    public let fileKey: SecretKey
    /// The item whose Live Photo this session completes (see `Library.beginUpload(completing:)`); nil for a new item.
    let completing: LivePhotoHalf?
    let library: Library
    private let objects = Mutex<[(name: ObjectName, role: ObjectRole)]>([])

    init(library: Library, fileKey: SecretKey = SecretKey(), completing: LivePhotoHalf? = nil) {
        self.library = library
        self.fileKey = fileKey
        self.completing = completing
    }

    /// Stores one object sealed with the file key: `produce` writes its plaintext, in pieces, to the sink it is given.
    public func storeSealed<T>(role: ObjectRole, _ produce: (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> T) throws -> (ObjectName, T) {
        try store(role: role) { writer in
            let sealer = try SealingStream(key: fileKey) { try writer.write($0) }
            let result = try produce { try sealer.write($0) }
            try sealer.finish()
            return result
        }
    }

    /// Stores `bytes` sealed with the file key as one object.
    public func storeSealed(_ bytes: [UInt8], role: ObjectRole) throws -> ObjectName {
        try storeSealed(role: role) { write in try bytes.withUnsafeBytes { try write($0) } }.0
    }

    /// Stores one object as `produce` writes it (already encrypted: the stream).
    public func storeAsIs<T>(role: ObjectRole, _ produce: (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> T) throws -> (ObjectName, T) {
        try store(role: role) { writer in try produce { try writer.write($0) } }
    }

    private func store<T>(role: ObjectRole, _ fill: (any ObjectWriter) throws -> T) throws -> (ObjectName, T) {
        let (name, writer) = try library.ledger.begin()
        let result: T
        do {
            result = try fill(writer)
            try writer.commit()
        } catch {
            writer.abort()
            // After a run-fatal error the store cannot be asked to delete: the object stays pending for the next writer.
            if !error.isRunFatal { try? library.ledger.discard([name]) }
            throw error
        }
        objects.withLock { $0.append((name, role)) }
        return (name, result)
    }

    /// When the library holds an item with the plaintext content hash `hash`, puts it in `album` (if needed),
    /// discards what this session stored, and says what happened; nil when the item is new.
    public func resolveExisting(hash: String, album: AlbumTarget, sourceFiles: [SourceFileRecord], reuploadDeleted: Bool) throws -> CommitOutcome? {
        guard let existing = try library.resolveExisting(hash: hash, album: album, sourceFiles: sourceFiles,
                                                         reuploadDeleted: reuploadDeleted) else { return nil }
        try discard()
        return existing
    }

    /// Commits `item`, whose objects this session stored (a completed Live Photo: and the objects it reuses of the
    /// item it replaces); when the same bytes were committed meanwhile, the existing item is used and this session's
    /// objects are discarded. In a run that groups commits (`Library.groupingCommits`) a new item is queued: it is
    /// in the index, and durable, once its group is committed.
    public func commit(_ item: NewItem, album: AlbumTarget) throws -> CommitOutcome {
        let stored = objects.withLock { $0 }
        let digests = { (itemId: String) in try self.storedObjects(itemId: itemId).map(\.digest) }
        let outcome = if let completing {
            try library.commitLivePhoto(item, completing: completing, album: album, objects: stored.map(\.name), digests: digests)
        } else {
            try library.commit(item, album: album, objects: stored.map(\.name), digests: digests)
        }
        if case .stored = outcome {
            library.ledger.committed(stored.map(\.name))
            objects.withLock { $0.removeAll() }
        } else {
            try discard()
        }
        return outcome
    }

    /// Every object this session stored, with its digest as an object of `itemId`.
    func storedObjects(itemId: String) throws -> [(name: ObjectName, digest: ObjectDigest)] {
        try objects.withLock { $0 }.map { name, role in
            guard let bytes = library.ledger.measured(name) else {
                throw LibraryError.corruptIndex("object \(name) was not stored by this session")
            }
            return (name, ObjectDigest(itemId: itemId, name: name.path, role: role.rawValue, size: bytes.size, blake2b: bytes.blake2b))
        }
    }

    /// Removes every object this session stored and did not commit (a failed file, a duplicate).
    public func discard() throws {
        let names = objects.withLock { objects in
            defer { objects.removeAll() }
            return objects.map(\.name)
        }
        try library.ledger.discard(names)
    }
}
