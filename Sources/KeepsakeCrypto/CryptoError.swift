/// Why a cryptographic operation failed. Decryption never returns unauthenticated bytes as if they were good.
public enum CryptoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// libsodium could not initialise (no usable random source).
    case sodiumUnavailable
    /// A wrapped key did not open: the wrapping key is wrong or the wrapped bytes were changed.
    case unwrapFailed
    /// An encrypted chunk failed authentication: the data was changed, or the key is wrong.
    case authenticationFailed(chunk: Int)
    /// The encrypted data ends before its final chunk.
    case truncated
    /// Bytes follow the final chunk.
    case trailingData
    /// The input is not of the expected shape (e.g. a key of the wrong length).
    case malformed(String)
    /// Argon2id could not get the memory it needs.
    case keyDerivationFailed
    /// A key pair whose secret key is not that of its public key.
    case keyPairMismatch

    public var description: String {
        switch self {
        case .sodiumUnavailable: "libsodium could not be initialised"
        case .unwrapFailed: "a wrapped key did not open (wrong key, or the wrapped key was altered)"
        case .authenticationFailed(let chunk): "chunk \(chunk) failed authentication (data altered, or wrong key)"
        case .truncated: "encrypted data is truncated (its final chunk is missing)"
        case .trailingData: "unexpected bytes after the final encrypted chunk"
        case .malformed(let what): "malformed input: \(what)"
        case .keyDerivationFailed: "Argon2id key derivation failed (out of memory?)"
        case .keyPairMismatch: "the secret key is not that of the public key it is stored with"
        }
    }
}
