import Foundation
import KeepsakeCrypto

/// The store's `keys/identity` object: the library's identity key pair (issue 18), its public key in the clear and its
/// secret key sealed by the keyring (purpose 7), bound to the library, to this name and to the public key. Written
/// once, with `putIfAbsent`, and never replaced: other libraries know this library by its public key.
struct IdentityFile: Codable {
    var version = IdentityFile.currentVersion
    var publicKey: [UInt8]
    var secretKey: [UInt8]

    static let currentVersion = 1
    static let objectName = try! ObjectName("keys/identity")
    /// An identity file is about 500 bytes; one longer than this is not read.
    static let maxByteCount = 16 << 10

    init(_ pair: IdentityKeyPair, keyring: Keyring) {
        publicKey = pair.publicKey
        secretKey = keyring.sealIdentity(pair, name: Self.objectName)
    }

    func encoded() throws -> [UInt8] { Array(try JSONEncoder().encode(self)) }

    /// The key pair `bytes` hold; throws `LibraryError.identityRefused` for anything else.
    static func open(_ bytes: [UInt8], keyring: Keyring) throws -> IdentityKeyPair {
        let file: IdentityFile
        do { file = try JSONDecoder().decode(IdentityFile.self, from: Data(bytes)) }
        catch { throw LibraryError.identityRefused("it does not parse: \(error)") }
        guard file.version == currentVersion else {
            throw LibraryError.identityRefused("it has version \(file.version), which this keepsake does not know (made by a newer keepsake?)")
        }
        do { return try keyring.openIdentity(publicKey: file.publicKey, sealedSecretKey: file.secretKey, name: objectName) }
        catch .keyPairMismatch { throw LibraryError.identityRefused("its secret key is not that of its public key") }
        catch .malformed(let why) { throw LibraryError.identityRefused(why) }
        catch { throw LibraryError.identityRefused("its secret key does not open with this library's key (altered, or another library's)") }
    }
}
