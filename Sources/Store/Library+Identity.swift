import Foundation
import KeepsakeCrypto

/// The library's identity (issue 18): one X25519 key pair per library, shared by every library folder on its store.
/// It is made with the library, or, for a library made before identities, by the first folder that opens it; several
/// folders doing so at once converge on the first one stored.
extension Library {
    /// The library's identity key pair: the one the store holds (made and stored first when it holds none); without
    /// the store, the copy this folder keeps. Throws `LibraryError.identityRefused` when the store's does not open or
    /// its halves do not match: it is reported, never replaced.
    public func identity() throws -> IdentityKeyPair {
        do {
            return try storedIdentity()
        } catch let error as StoreError where error.isOutage {
            guard let pair = copiedIdentity() else { throw LibraryError.store(error) }
            return pair
        }
    }

    /// At every open: makes the identity of a library that has none. A store that cannot be reached or take writes
    /// does not stop the library from opening (the identity is made at a later open), nor does a refused identity
    /// (it matters only to sharing, where `identity()` throws); both are told to `notice`.
    func adoptIdentity(notice: (String) -> Void) {
        do {
            _ = try storedIdentity()
        } catch let error as StoreError where error.isOutage {
        } catch let error as StoreError {
            notice("cannot store the library's identity yet (\(error)); it is made when the store takes writes")
        } catch {
            notice("\(error)")
        }
    }

    /// The identity the store holds. When it holds none: this folder's copy (the store lost it: the identity others
    /// know is put back), else a new one, stored first.
    func storedIdentity() throws -> IdentityKeyPair {
        let bytes: [UInt8]
        do {
            bytes = try store.get(IdentityFile.objectName, limit: IdentityFile.maxByteCount)
        } catch StoreError.notFound {
            return try storeIdentity(copiedIdentity() ?? IdentityKeyPair())
        } catch let error as ObjectTooLarge {
            throw LibraryError.identityRefused("\(error)")
        }
        return try adoptStored(bytes)
    }

    /// Stores `candidate` unless the store holds an identity (another folder stored one since this one looked), then
    /// adopts whatever the store holds: written whole or not at all, so a crash leaves no half identity.
    func storeIdentity(_ candidate: IdentityKeyPair) throws -> IdentityKeyPair {
        try store.putIfAbsent(IdentityFile.objectName, bytes: IdentityFile(candidate, keyring: keyring).encoded())
        let stored: [UInt8]
        do { stored = try store.get(IdentityFile.objectName, limit: IdentityFile.maxByteCount) }
        catch let error as ObjectTooLarge { throw LibraryError.identityRefused("\(error)") }
        return try adoptStored(stored)
    }

    /// Opens the store's identity and keeps a copy of it in the folder (nothing in it is in the clear but the public
    /// key), for `identity()` when the store cannot be reached.
    private func adoptStored(_ bytes: [UInt8]) throws -> IdentityKeyPair {
        let pair = try IdentityFile.open(bytes, keyring: keyring)
        if readCopy() != bytes { try? Data(bytes).write(to: URL(fileURLWithPath: identityCopy), options: .atomic) }
        return pair
    }

    /// This folder's copy of the identity, when it has one that opens.
    private func copiedIdentity() -> IdentityKeyPair? {
        guard let copy = readCopy() else { return nil }
        return try? IdentityFile.open(copy, keyring: keyring)
    }

    /// The copy's bytes; nil when there is none, or it is longer than an identity file can be.
    private func readCopy() -> [UInt8]? {
        guard let file = FileHandle(forReadingAtPath: identityCopy) else { return nil }
        defer { try? file.close() }
        guard let bytes = try? file.read(upToCount: IdentityFile.maxByteCount + 1), bytes.count <= IdentityFile.maxByteCount else { return nil }
        return Array(bytes)
    }

    private var identityCopy: String { path + "/identity" }
}
