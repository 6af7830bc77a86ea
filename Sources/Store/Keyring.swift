import Foundation
import KeepsakeCrypto
import Synchronization

/// The library's keys: the master key, the keys derived from it for one purpose each, and the album keys it
/// unwraps. Everything the store holds that is not media is sealed here, bound to the name it is stored under and to
/// the library, so an object moved to another name, or written by another library, does not open.
final class Keyring: Sendable {
    private let master: SecretKey
    private let logKey: SecretKey
    private let recordKey: SecretKey
    private let checkpointKey: SecretKey
    private let hashKey: SecretKey
    private let itemKeyKey: SecretKey
    private let linkKey: SecretKey
    private let identityKey: SecretKey
    /// Names the library without revealing anything (the index records it; sealed objects are bound to it).
    let identity: String
    private let albumKeys = Mutex<[String: SecretKey]>([:])

    init(master: SecretKey) {
        self.master = master
        logKey = master.derived(purpose: 1)
        recordKey = master.derived(purpose: 2)
        checkpointKey = master.derived(purpose: 3)
        hashKey = master.derived(purpose: 4)
        itemKeyKey = master.derived(purpose: 5)
        linkKey = master.derived(purpose: 6)
        identityKey = master.derived(purpose: 7)
        identity = Self.identity(of: master)
    }

    static func identity(of masterKey: SecretKey) -> String {
        let hasher = Blake2b()
        hasher.update(Array("keepsake library identity 1".utf8))
        masterKey.withUnsafeBytes { hasher.update($0) }
        return Array(hasher.finalize().prefix(16)).hexString
    }

    // MARK: Sealed store objects

    private func associatedData(_ kind: String, _ name: ObjectName) -> [UInt8] {
        Array("keepsake 2 \(kind) \(identity) \(name.path)".utf8)
    }

    func seal<T: Encodable>(_ value: T, kind: SealedKind, name: ObjectName) throws -> [UInt8] {
        SealedBox.seal(Array(try JSONEncoder().encode(value)), associatedData: associatedData(kind.rawValue, name), key: key(for: kind))
    }

    /// Opens an object sealed by `seal`; throws `SealedObjectError` when it does not open or parse.
    func open<T: Decodable>(_ type: T.Type, from bytes: [UInt8], kind: SealedKind, name: ObjectName) throws(SealedObjectError) -> T {
        let plain: [UInt8]
        do { plain = try SealedBox.open(bytes, associatedData: associatedData(kind.rawValue, name), key: key(for: kind)) }
        catch { throw .doesNotOpen }
        do { return try JSONDecoder().decode(T.self, from: Data(plain)) }
        catch { throw .doesNotParse("\(error)") }
    }

    /// `link`: the owner's part of a public link record (docs/public-links.md).
    enum SealedKind: String { case log, item, checkpoint, link }

    private func key(for kind: SealedKind) -> SecretKey {
        switch kind {
        case .log: logKey
        case .item: recordKey
        case .checkpoint: checkpointKey
        case .link: linkKey
        }
    }

    /// Format-1 journal entries: secretstream under the master key itself.
    func openJournalEntry(_ bytes: [UInt8]) throws -> JournalEntry {
        try JournalEntry.open(bytes, key: master)
    }

    // MARK: The identity key pair

    /// The identity's secret key sealed under the identity key (purpose 7), bound to the library, to `name` and to
    /// its public key, so that neither half can be swapped for another pair's.
    func sealIdentity(_ pair: IdentityKeyPair, name: ObjectName) -> [UInt8] {
        pair.sealedSecretKey(associatedData: identityAssociatedData(pair.publicKey, name), key: identityKey)
    }

    /// Opens what `sealIdentity` sealed; throws `CryptoError` when it does not open or the halves do not match.
    func openIdentity(publicKey: [UInt8], sealedSecretKey: [UInt8], name: ObjectName) throws(CryptoError) -> IdentityKeyPair {
        try IdentityKeyPair(publicKey: publicKey, sealedSecretKey: sealedSecretKey,
                            associatedData: identityAssociatedData(publicKey, name), key: identityKey)
    }

    private func identityAssociatedData(_ publicKey: [UInt8], _ name: ObjectName) -> [UInt8] {
        associatedData("identity", name) + Array(" \(publicKey.hexString)".utf8)
    }

    // MARK: Hashes

    /// A keyed hash of a content hash: what the index and the format-2 log keep to find duplicates, so that a copy of
    /// the index or the log cannot confirm that a known photo is in the library.
    func keyedHash(_ plainHash: String) -> String {
        "k" + Array(Blake2b.keyedHash(Array(plainHash.utf8), key: hashKey)).hexString
    }

    /// True for a hash `keyedHash` made (format 1 wrote plain ones).
    static func isKeyed(_ hash: String) -> Bool { hash.hasPrefix("k") }

    // MARK: Keys

    /// The master key wrapped by `passphrase` (`keepsake passwd`).
    func keyFile(passphrase: String) throws -> KeyFile { try KeyFile.wrapping(master, passphrase: passphrase) }

    /// A new album key, and its wrapping by the master key for the album's record.
    func newAlbumKey() -> Data { Data(KeyWrap.wrap(SecretKey(), with: master)) }

    func albumKey(id: String, wrapped: Data) throws -> SecretKey {
        if let key = albumKeys.withLock({ $0[id] }) { return key }
        let key = try KeyWrap.unwrap(Array(wrapped), with: master)
        albumKeys.withLock { $0[id] = key }
        return key
    }

    /// True when `wrapped` is an album key of this library.
    func opensAlbumKey(_ wrapped: Data) -> Bool { (try? KeyWrap.unwrap(Array(wrapped), with: master)) != nil }

    func wrapFileKey(_ fileKey: SecretKey) -> Data { Data(KeyWrap.wrap(fileKey, with: itemKeyKey)) }

    func unwrapFileKey(_ wrapped: Data) throws -> SecretKey { try KeyWrap.unwrap(Array(wrapped), with: itemKeyKey) }
}

/// Why a sealed store object (log entry, item record, checkpoint part) was not used.
enum SealedObjectError: Error, CustomStringConvertible {
    /// Wrong key, another library's, altered, truncated, or stored under another name than it was written for.
    case doesNotOpen
    case doesNotParse(String)
    case tooLarge(Int)

    var description: String {
        switch self {
        case .doesNotOpen: "it does not open with this library's key under this name (damaged, truncated, moved or another library's)"
        case .doesNotParse(let why): "it opens but does not parse: \(why)"
        case .tooLarge(let limit): "it is larger than \(limit) bytes"
        }
    }
}
