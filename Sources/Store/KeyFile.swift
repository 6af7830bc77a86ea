import Foundation
import KeepsakeCrypto

/// The store's `keys/master` object: the Argon2id parameters and the master key wrapped by the passphrase key.
/// It holds no secret in the clear; with the passphrase it opens the whole library (SPEC 6).
struct KeyFile: Codable {
    var version = 1
    var kdf: PassphraseKDF
    var wrappedMasterKey: [UInt8]

    static let objectName = try! ObjectName("keys/master")

    /// Creates a new master key and its key file, protected by `passphrase`.
    static func create(passphrase: String) throws -> (KeyFile, SecretKey) {
        let master = SecretKey()
        return (try wrapping(master, passphrase: passphrase), master)
    }

    /// A key file for `master` under `passphrase`, with a fresh salt.
    static func wrapping(_ master: SecretKey, passphrase: String) throws -> KeyFile {
        let kdf = PassphraseKDF.moderate()
        return KeyFile(kdf: kdf, wrappedMasterKey: KeyWrap.wrap(master, with: try kdf.deriveKey(from: passphrase)))
    }

    func openMasterKey(passphrase: String) throws -> SecretKey {
        let passphraseKey = try kdf.deriveKey(from: passphrase)
        do { return try KeyWrap.unwrap(wrappedMasterKey, with: passphraseKey) }
        catch CryptoError.unwrapFailed { throw LibraryError.wrongPassphrase }
    }

    func encoded() throws -> [UInt8] { Array(try JSONEncoder().encode(self)) }

    static func decode(_ bytes: [UInt8]) throws -> KeyFile {
        do { return try JSONDecoder().decode(KeyFile.self, from: Data(bytes)) }
        catch { throw LibraryError.keyFileDamaged("\(error)") }
    }
}
