import Foundation
import KeepsakeCrypto

/// What public links (the `Sharing` module) need of the library: its `links/` objects, the owner's part of a link
/// record sealed under the library's link key, and the digests of the objects a link shares.
extension Library {
    public var linkShelf: LinkShelf { LinkShelf(store: store) }

    /// `value` sealed for this library only, bound to the link `token` (keyring purpose 6).
    public func sealLinkOwnerPart<T: Encodable>(_ value: T, token: String) throws -> [UInt8] {
        try keyring.seal(value, kind: .link, name: ObjectName(LinkShelf.prefix + token))
    }

    /// Opens what `sealLinkOwnerPart` sealed for the link `token`; throws `SealedObjectError` for another library's
    /// link or a part moved from another record.
    public func openLinkOwnerPart<T: Decodable>(_ type: T.Type, from bytes: [UInt8], token: String) throws -> T {
        try keyring.open(type, from: bytes, kind: .link, name: ObjectName(LinkShelf.prefix + token))
    }

    /// The size and BLAKE2b of the object `name` as stored (its ciphertext), when the index recorded them.
    public func storedDigest(of name: String) throws -> ObjectDigest? { try index.digest(of: name) }

    /// Reads the object `name` as stored, whole, into `sink` (for a digest of an object stored before digests were kept).
    public func readStored(_ name: String, into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try store.read(ObjectName(name), range: nil, into: sink)
    }
}
