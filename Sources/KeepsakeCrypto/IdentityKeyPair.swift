import CSodium

/// A library's identity: an X25519 key pair (`crypto_box`). Its public key is what another library seals an album
/// key to; its secret key never leaves this type in the clear (it is sealed for the store by `sealedSecretKey`).
public final class IdentityKeyPair: Sendable {
    public static let publicKeyByteCount = Int(crypto_box_PUBLICKEYBYTES)

    public let publicKey: [UInt8]
    private let secretKey: SecretKey

    /// A fresh random key pair.
    public init() {
        var publicKey = [UInt8](repeating: 0, count: Self.publicKeyByteCount)
        secretKey = SecretKey { out in _ = crypto_box_keypair(&publicKey, out.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
        self.publicKey = publicKey
    }

    /// The pair sealed by `sealedSecretKey`: throws `CryptoError.unwrapFailed` when the secret key does not open with
    /// `key` and `associatedData`, and `.keyPairMismatch` when it opens but is not the secret key of `publicKey`.
    public init(publicKey: [UInt8], sealedSecretKey: [UInt8], associatedData: [UInt8], key: SecretKey) throws(CryptoError) {
        guard publicKey.count == Self.publicKeyByteCount else {
            throw .malformed("a public key must be \(Self.publicKeyByteCount) bytes, got \(publicKey.count)")
        }
        guard sealedSecretKey.count == SealedBox.overhead + SecretKey.byteCount else {
            throw .malformed("a sealed secret key must be \(SealedBox.overhead + SecretKey.byteCount) bytes")
        }
        var plain: [UInt8]
        do { plain = try SealedBox.open(sealedSecretKey, associatedData: associatedData, key: key) }
        catch { throw .unwrapFailed }
        defer { wipe(&plain) }
        let secretKey = try SecretKey(bytes: plain)
        var derived = [UInt8](repeating: 0, count: Self.publicKeyByteCount)
        guard secretKey.withPointer({ crypto_scalarmult_base(&derived, $0) }) == 0,
              sodium_memcmp(derived, publicKey, derived.count) == 0 else { throw .keyPairMismatch }
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// The secret key sealed (XChaCha20-Poly1305) under `key`, bound to `associatedData`.
    public func sealedSecretKey(associatedData: [UInt8], key: SecretKey) -> [UInt8] {
        var plain = secretKey.withUnsafeBytes { Array($0) }
        defer { wipe(&plain) }
        return SealedBox.seal(plain, associatedData: associatedData, key: key)
    }

    /// What two people read to each other to check that a public key is the one they mean (`verificationPhrase(of:)`).
    public var verificationPhrase: String { Self.verificationPhrase(of: publicKey) }

    /// Five groups of five digits from the public key alone, the same wherever it is computed: BLAKE2b-512 of
    /// `keepsake verification 1` followed by the key, and for each group `g` the big-endian 40-bit number in digest
    /// bytes `5g..<5g+5`, modulo 100,000 (about 83 bits in all; docs/store-format.md).
    public static func verificationPhrase(of publicKey: [UInt8]) -> String {
        let hasher = Blake2b()
        hasher.update(Array("keepsake verification 1".utf8))
        hasher.update(publicKey)
        let digest = hasher.finalize()
        return (0..<5).map { group in
            let value = digest[group * 5..<group * 5 + 5].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } % 100_000
            let digits = String(value)
            return String(repeating: "0", count: 5 - digits.count) + digits
        }.joined(separator: " ")
    }
}
