import Foundation
import KeepsakeCrypto

/// What `keepsake serve` reads: the items and albums as the index has them, and objects read by range, decrypted in
/// memory by the caller. Nothing here writes.
extension Library {
    /// The live items, or those of the album `album` (see `LibraryIndex.items(inAlbum:)`), oldest first.
    public func liveItems(inAlbum album: String? = nil) throws -> [ItemRecord] { try index.items(inAlbum: album) }

    public func item(id: String) throws -> ItemRecord? { try index.item(id: id) }

    public func originals(of itemId: String) throws -> [OriginalRecord] { try index.originals(of: itemId) }

    /// The user albums the item is in, by name.
    public func albumNames(of itemId: String) throws -> [String] { try index.albumNames(of: itemId) }

    /// Whether `passphrase` opens the library's key file as the store holds it now (Argon2id: about a second and
    /// 256 MiB; call it from a thread of your own). Store errors are thrown; a wrong passphrase is false.
    public func unlocks(passphrase: String) throws -> Bool {
        do {
            _ = try KeyFile.read(from: store).openMasterKey(passphrase: passphrase)
            return true
        } catch LibraryError.wrongPassphrase {
            return false
        }
    }

    /// The object `name` of item `itemId`, with its size as stored, or nil when the item does not own such an object
    /// or the store lacks it. An object recorded with a digest must have the recorded size.
    public func ownedObject(_ name: String, of itemId: String) throws -> (name: ObjectName, size: UInt64)? {
        guard let objectName = try? ObjectName(name) else { return nil }
        let digest = try index.digest(of: name)
        if let digest, digest.itemId != itemId { return nil }
        guard let size = try store.size(of: objectName) else { return nil }
        if let digest, digest.size != Int64(size) {
            throw ObjectMismatch(itemId: itemId, object: name, role: digest.role, reason: "it is \(size) bytes, \(digest.size) were stored")
        }
        return (objectName, size)
    }

    /// The small sealed object `name` of item `itemId` (a thumbnail, rendition or playlist), checked against its digest
    /// and decrypted whole in memory; nil when the item does not own such an object or the store lacks it.
    public func decryptedSmallObject(_ name: String, of itemId: String, upTo cap: UInt64) throws -> [UInt8]? {
        guard let (object, size) = try ownedObject(name, of: itemId) else { return nil }
        guard size <= cap else { throw ObjectTooLarge(name: name, limit: Int(cap)) }
        var plain = [UInt8]()
        plain.reserveCapacity(Int(size))
        try readDecrypted(object, key: try fileKey(of: itemId)) { plain.append(contentsOf: $0) }
        return plain
    }

    /// Reads the bytes at `range` of the object as stored (ranges cannot be checked against the object's digest: the
    /// encryption authenticates them instead).
    public func readStored(_ name: ObjectName, range: Range<UInt64>, into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try store.read(name, range: range, into: sink)
    }

    /// A reader of plaintext ranges of the sealed object `name` of `size` bytes, decrypting only the chunks a range
    /// covers (see `SealedRangeReader`).
    public func rangeReader(_ name: ObjectName, size: UInt64, key: SecretKey) throws -> SealedRangeReader {
        try SealedRangeReader(key: key, sealedSize: size) { range in
            var bytes = [UInt8]()
            bytes.reserveCapacity(range.count)
            try self.store.read(name, range: range) { bytes.append(contentsOf: $0) }
            return bytes
        }
    }
}

