import CSodium

/// Derives a key from a passphrase with Argon2id (`crypto_pwhash`).
public struct PassphraseKDF: Sendable, Codable, Equatable {
    public static let saltByteCount = Int(crypto_pwhash_SALTBYTES)

    /// The only algorithm a key file may name (`crypto_pwhash_ALG_ARGON2ID13`); absent in format-1 key files.
    public static let argon2id = "argon2id13"
    /// The limits a key file may ask for: libsodium's "moderate" to "sensitive". Beyond them a damaged or hostile
    /// key file could make every command hang (opsLimit) or abort on allocation (memLimit).
    public static let acceptedOpsLimits = UInt64(crypto_pwhash_OPSLIMIT_MODERATE)...UInt64(crypto_pwhash_OPSLIMIT_SENSITIVE)
    public static let acceptedMemLimits = UInt64(crypto_pwhash_MEMLIMIT_MODERATE)...UInt64(crypto_pwhash_MEMLIMIT_SENSITIVE)

    public var salt: [UInt8]
    public var opsLimit: UInt64
    public var memLimit: UInt64
    public var algorithm: String?

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
        algorithm = Self.argon2id
    }

    /// Refuses parameters outside what keepsake writes, before any work is done with them: for a key file read from a
    /// store (`deriveKey` itself takes any limits, so tests can use fast ones).
    public func validate() throws(CryptoError) {
        guard algorithm == nil || algorithm == Self.argon2id else { throw .malformed("unknown key derivation \(algorithm!)") }
        guard salt.count == Self.saltByteCount else { throw .malformed("salt must be \(Self.saltByteCount) bytes") }
        guard Self.acceptedOpsLimits.contains(opsLimit) else {
            throw .malformed("Argon2id opsLimit \(opsLimit) is outside \(Self.acceptedOpsLimits.lowerBound)...\(Self.acceptedOpsLimits.upperBound)")
        }
        guard Self.acceptedMemLimits.contains(memLimit) else {
            throw .malformed("Argon2id memLimit \(memLimit) is outside \(Self.acceptedMemLimits.lowerBound)...\(Self.acceptedMemLimits.upperBound)")
        }
    }

    public func deriveKey(from passphrase: String) throws(CryptoError) -> SecretKey {
        try requireSodium()
        guard salt.count == Self.saltByteCount else { throw .malformed("salt must be \(Self.saltByteCount) bytes") }
        var password = Array(passphrase.utf8CString)  // NUL-terminated, so never an empty buffer
        defer { wipe(&password) }
        var status: Int32 = 0
        MappedCode.letGo()
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
