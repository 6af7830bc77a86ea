import Foundation
import GRDB
import KeepsakeCrypto

/// One object an item owns, as it was stored: its role in the item, its size and the BLAKE2b-512 of its bytes as
/// stored (ciphertext). Recorded in the item's journal entry and the index, so that every read can tell that the
/// store returned the object that was written there, and in that role.
public struct ObjectDigest: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "itemObjects"
    public var itemId: String
    public var name: String
    /// An `ObjectRole`'s raw value.
    public var role: String
    public var size: Int64
    public var blake2b: String
}

/// What an object is to the item that owns it.
public enum ObjectRole: String, Sendable {
    case original, still, video, metadata, thumbnail, playlist, stream, rendition

    /// The role of an original with `OriginalRecord.role` `role`: `main` is the item's one original.
    public init(original role: String) { self = role == "main" ? .original : ObjectRole(rawValue: role) ?? .original }
}

extension ItemRecord {
    /// The derived objects the item names, with their roles.
    var derivedObjects: [(name: String, role: ObjectRole)] {
        [(metadataObject, ObjectRole.metadata), (thumbnailObject, .thumbnail), (streamObject, .stream), (playlistObject, .playlist),
         (renditionObject, .rendition)]
            .compactMap { name, role in name.map { ($0, role) } }
    }
}

/// What a writer measured of the bytes it stored.
struct WrittenBytes: Sendable {
    var size: Int64
    var blake2b: String
}

/// Hashes every byte on its way into the store; reports the size and hash once the object is committed.
final class HashingWriter: ObjectWriter {
    private let inner: any ObjectWriter
    private let hasher = Blake2b()
    private var size: Int64 = 0
    private let onCommit: (WrittenBytes) -> Void

    init(_ inner: any ObjectWriter, onCommit: @escaping (WrittenBytes) -> Void) {
        self.inner = inner
        self.onCommit = onCommit
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        try inner.write(bytes)
        hasher.update(bytes)
        size += Int64(bytes.count)
    }

    func commit() throws(StoreError) {
        try inner.commit()
        onCommit(WrittenBytes(size: size, blake2b: hasher.finalize().hexString))
    }

    func abort() { inner.abort() }
}

/// An object the store returned is not the one stored under its name: another object's bytes (a swapped name),
/// damaged bytes, or a truncated or longer object. It costs the item it belongs to, and ends a command that meets it.
public struct ObjectMismatch: KeepsakeError, Sendable {
    public var itemId: String
    public var object: String
    public var role: String
    public var reason: String

    public var description: String {
        "item \(itemId), \(role) object \(object): the store returned something other than what was stored (\(reason))"
    }

    public var exitStatus: Int32 { 3 }
    public var isRunFatal: Bool { false }
}

/// Checks bytes read from the store against their recorded digest as they stream past.
final class StoredBytesCheck {
    let expected: ObjectDigest
    private let hasher = Blake2b()
    private var size: Int64 = 0

    init(_ expected: ObjectDigest) { self.expected = expected }

    func update(_ bytes: UnsafeRawBufferPointer) throws(ObjectMismatch) {
        size += Int64(bytes.count)
        // A longer object is refused as soon as it is, not after reading all of it.
        guard size <= expected.size else { throw mismatch("it is longer than the \(expected.size) bytes stored") }
        hasher.update(bytes)
    }

    func finish() throws(ObjectMismatch) {
        guard size == expected.size else { throw mismatch("\(size) bytes, where \(expected.size) were stored") }
        guard hasher.finalize().hexString == expected.blake2b else { throw mismatch("its BLAKE2b does not match") }
    }

    private func mismatch(_ reason: String) -> ObjectMismatch {
        ObjectMismatch(itemId: expected.itemId, object: expected.name, role: expected.role, reason: reason)
    }
}
