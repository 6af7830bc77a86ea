import CSodium

/// Derives a key from a passphrase with Argon2id (`crypto_pwhash`).
public struct PassphraseKDF: Sendable, Codable, Equatable {
    public static let saltByteCount = Int(crypto_pwhash_SALTBYTES)

    public var salt: [UInt8]
    public var opsLimit: UInt64
    public var memLimit: UInt64

    /// A new salt with libsodium's "moderate" limits (SPEC 6).
    public static func moderate() -> PassphraseKDF {
        PassphraseKDF(salt: randomBytes(saltByteCount),
                      opsLimit: UInt64(crypto_pwhash_OPSLIMIT_MODERATE),
                      memLimit: UInt64(crypto_pwhash_MEMLIMIT_MODERATE))
    }

    public init(salt: [UInt8], opsLimit: UInt64, memLimit: UInt64) {
        self.salt = salt
        self.opsLimit = opsLimit
        self.memLimit = memLimit
    }

    public func deriveKey(from passphrase: String) throws(CryptoError) -> SecretKey {
        try requireSodium()
        guard salt.count == Self.saltByteCount else { throw .malformed("salt must be \(Self.saltByteCount) bytes") }
        var password = Array(passphrase.utf8CString)  // NUL-terminated, so never an empty buffer
        defer { wipe(&password) }
        var status: Int32 = 0
        let key = SecretKey { out in
            status = password.withUnsafeBufferPointer { pw in
                crypto_pwhash(out.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(out.count),
                              pw.baseAddress!, UInt64(pw.count - 1),
                              salt, opsLimit, Int(memLimit), crypto_pwhash_ALG_ARGON2ID13)
            }
        }
        guard status == 0 else { throw .keyDerivationFailed }
        return key
    }
}
