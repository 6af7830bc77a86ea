import Foundation
import KeepsakeCrypto

/// What `keepsake free-up` asks before it deletes a local file: does the library hold these exact bytes, and does the
/// store still give them back?
extension Library {
    /// Where the library holds a file of `size` bytes whose plaintext BLAKE2b-512 is `hash`.
    public struct HeldOriginal: Sendable {
        public var itemId: String
        public var original: OriginalRecord
        public var albums: [String]
    }

    /// The live items' originals with exactly these bytes (by the hash recorded when they were stored).
    public func heldOriginals(blake2b hash: String, size: Int64) throws -> [HeldOriginal] {
        try index.liveOriginals(blake2b: hash, size: size).map { original in
            HeldOriginal(itemId: original.itemId, original: original, albums: try index.albumNames(of: original.itemId))
        }
    }

    /// Checks that the store gives `held` back as it was stored. With `readBack`, the object is read whole, checked
    /// against its recorded size and BLAKE2b as stored, decrypted, and its plaintext hashed: true only when it is
    /// `hash`. Without, the object must be present with its recorded size. Throws for a store that cannot be reached.
    public func storeGivesBack(_ held: HeldOriginal, hash: String, readBack: Bool) throws -> Bool {
        let name = try ObjectName(held.original.objectName)
        guard readBack else {
            guard let size = try store.size(of: name) else { return false }
            if let digest = try index.digest(of: name.path) { return digest.size == Int64(size) }
            return true
        }
        let hasher = Blake2b()
        var plainSize: Int64 = 0
        do {
            try readDecrypted(name, key: try fileKey(of: held.itemId)) { bytes in
                hasher.update(bytes)
                plainSize += Int64(bytes.count)
            }
        } catch let error as StoreError where error.isOutage {
            throw error
        } catch {
            return false
        }
        return plainSize == held.original.size && hasher.finalize().hexString == hash
    }
}
