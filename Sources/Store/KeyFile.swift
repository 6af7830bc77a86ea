import Foundation
import KeepsakeCrypto

/// The store's `keys/master` object: the Argon2id parameters and the master key wrapped by the passphrase key.
/// It holds no secret in the clear; with the passphrase it opens the whole library (SPEC 6).
///
/// Its `version` is the store's format. Version 1 names the wrapped key `wrappedMasterKey`; version 2 (the per-writer
/// log) names it `masterKey`, so that a keepsake that knows only format 1, which does not check the version, cannot
/// open a format-2 store (and write into it, or repair it, as if it were format 1) but fails at once.
struct KeyFile: Codable {
    var version = KeyFile.currentVersion
    var kdf: PassphraseKDF
    var wrappedMasterKey: [UInt8]

    static let currentVersion = 2

    private enum CodingKeys: String, CodingKey { case version, kdf, wrappedMasterKey, masterKey }

    init(version: Int = KeyFile.currentVersion, kdf: PassphraseKDF, wrappedMasterKey: [UInt8]) {
        self.version = version
        self.kdf = kdf
        self.wrappedMasterKey = wrappedMasterKey
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        version = try container.decode(Int.self, forKey: .version)
        kdf = try container.decode(PassphraseKDF.self, forKey: .kdf)
        wrappedMasterKey = try container.decode([UInt8].self, forKey: version == 1 ? .wrappedMasterKey : .masterKey)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(version, forKey: .version)
        try container.encode(kdf, forKey: .kdf)
        try container.encode(wrappedMasterKey, forKey: version == 1 ? .wrappedMasterKey : .masterKey)
    }

    static let objectName = try! ObjectName("keys/master")
    /// A key file is about 300 bytes; one longer than this is not read (it could be endless, e.g. /dev/zero).
    static let maxByteCount = 64 << 10

    /// Reads and checks the store's key file.
    static func read(from store: any ObjectStore) throws -> KeyFile {
        do { return try decode(try store.get(objectName, limit: maxByteCount)) }
        catch let error as ObjectTooLarge { throw LibraryError.keyFileDamaged("\(error)") }
    }

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

    /// Decodes a key file and checks every field before anything is derived from it, so that a damaged or hostile
    /// key file is refused at once rather than hanging or exhausting memory in Argon2id.
    static func decode(_ bytes: [UInt8]) throws -> KeyFile {
        let file: KeyFile
        do { file = try JSONDecoder().decode(KeyFile.self, from: Data(bytes)) }
        catch { throw LibraryError.keyFileDamaged("\(error)") }
        guard (1...currentVersion).contains(file.version) else {
            throw LibraryError.keyFileDamaged("it has format version \(file.version), which this keepsake does not know: "
                                              + "it was made by a newer keepsake; open the library with that version")
        }
        do { try file.kdf.validate() } catch { throw LibraryError.keyFileDamaged("\(error)") }
        guard file.wrappedMasterKey.count == KeyWrap.wrappedByteCount else {
            throw LibraryError.keyFileDamaged("its wrapped master key is \(file.wrappedMasterKey.count) bytes, not \(KeyWrap.wrappedByteCount)")
        }
        return file
    }
}
