import Crypto
import _CryptoExtras
import Foundation

/// The cryptography of public links (docs/public-links.md), all of it what a browser's WebCrypto does natively:
/// HKDF-SHA256, PBKDF2-SHA256, SHA-256 and AES-256-GCM. The page does the same steps in the other direction.
public enum LinkCipher {
    /// PBKDF2-SHA256 iterations for a link password: OWASP's recommendation (2023).
    public static let passwordIterations = 600_000
    static let hkdfSalt = Array("keepsake-link-v1".utf8)
    static let ivByteCount = 12, tagByteCount = 16

    /// The key that opens the manifest: from the link key alone, or with the password's key mixed in.
    public static func manifestKey(linkKey: [UInt8], passwordKey: [UInt8]?, token: String) -> SymmetricKey {
        derive(linkKey + (passwordKey ?? []), info: "manifest " + token)
    }

    /// PBKDF2-SHA256 of the password (as UTF-8, NFC) with the record's salt: 32 bytes.
    public static func passwordKey(password: String, salt: [UInt8], iterations: Int) throws -> [UInt8] {
        let key = try KDF.Insecure.PBKDF2.deriveKey(from: Array(password.precomposedStringWithCanonicalMapping.utf8), salt: salt,
                                                    using: .sha256, outputByteCount: 32, unsafeUncheckedRounds: iterations)
        return key.withUnsafeBytes { Array($0) }
    }

    /// What the page sends to prove it has the password (it opens nothing: the manifest also needs the link key).
    public static func checkKey(passwordKey: [UInt8], token: String) -> [UInt8] {
        derive(passwordKey, info: "password check " + token).withUnsafeBytes { Array($0) }
    }

    /// What the record keeps to check a check key: its SHA-256, in hex.
    public static func verifier(checkKey: [UInt8]) -> String {
        SHA256.hash(data: checkKey).map { String(format: "%02x", $0) }.joined()
    }

    /// Whether `checkKey` matches `verifier`, compared in constant time.
    public static func matches(checkKey: [UInt8], verifier: String) -> Bool {
        let computed = Array(Self.verifier(checkKey: checkKey).utf8), expected = Array(verifier.utf8)
        guard computed.count == expected.count else { return false }
        return zip(computed, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    public static func manifestAssociatedData(token: String) -> [UInt8] {
        Array("keepsake link manifest v1\n\(token)".utf8)
    }

    public static func objectAssociatedData(token: String, name: String) -> [UInt8] {
        Array("keepsake link object v1\n\(token)\n\(name)".utf8)
    }

    /// `IV (12) ‖ AES-256-GCM ciphertext ‖ tag (16)`, with a random IV.
    public static func seal(_ plaintext: [UInt8], key: SymmetricKey, associatedData: [UInt8]) throws -> [UInt8] {
        let box = try AES.GCM.seal(plaintext, using: key, nonce: AES.GCM.Nonce(), authenticating: associatedData)
        return Array(box.nonce) + Array(box.ciphertext) + Array(box.tag)
    }

    /// Opens what `seal` made; throws `LinkCipherError.doesNotOpen` for a wrong key, other data, or any change.
    public static func open(_ sealed: [UInt8], key: SymmetricKey, associatedData: [UInt8]) throws(LinkCipherError) -> [UInt8] {
        guard sealed.count >= ivByteCount + tagByteCount else { throw .doesNotOpen }
        do {
            let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: sealed[..<ivByteCount]),
                                            ciphertext: sealed[ivByteCount..<(sealed.count - tagByteCount)],
                                            tag: sealed[(sealed.count - tagByteCount)...])
            return Array(try AES.GCM.open(box, using: key, authenticating: associatedData))
        } catch {
            throw .doesNotOpen
        }
    }

    private static func derive(_ material: [UInt8], info: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: material), salt: hkdfSalt, info: Array(info.utf8),
                               outputByteCount: 32)
    }
}

public enum LinkCipherError: Error, CustomStringConvertible {
    case doesNotOpen
    public var description: String { "it does not decrypt with the link's key (another link's, altered, or a wrong password)" }
}

/// base64url without padding, as links and the page write keys.
public enum Base64URL {
    public static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func decode(_ text: String) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard !base64.contains("=") else { return nil }
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64).map(Array.init)
    }
}
