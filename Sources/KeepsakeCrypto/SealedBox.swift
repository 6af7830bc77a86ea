import CSodium

/// One small message sealed with XChaCha20-Poly1305 (IETF) and bound to associated data: nonce ‖ ciphertext ‖ tag.
/// The associated data is not stored; opening with other associated data fails, which is how a sealed log entry or
/// record is bound to the name it was written under (a copy under another name does not open).
public enum SealedBox {
    public static let overhead = Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES) + Int(crypto_aead_xchacha20poly1305_ietf_ABYTES)

    public static func seal(_ plaintext: [UInt8], associatedData: [UInt8], key: SecretKey) -> [UInt8] {
        let nonceCount = Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
        var out = randomBytes(nonceCount) + [UInt8](repeating: 0, count: plaintext.count + overhead - nonceCount)
        out.withUnsafeMutableBufferPointer { buffer in
            let nonce = buffer.baseAddress!
            key.withPointer { k in
                _ = crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + nonceCount, nil, plaintext, UInt64(plaintext.count),
                                                               associatedData, UInt64(associatedData.count), nil, nonce, k)
            }
        }
        return out
    }

    public static func open(_ sealed: [UInt8], associatedData: [UInt8], key: SecretKey) throws(CryptoError) -> [UInt8] {
        guard sealed.count >= overhead else { throw .truncated }
        let nonceCount = Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
        var plaintext = [UInt8](repeating: 0, count: sealed.count - overhead)
        let result = sealed.withUnsafeBufferPointer { buffer in
            key.withPointer { k in
                crypto_aead_xchacha20poly1305_ietf_decrypt(&plaintext, nil, nil, buffer.baseAddress! + nonceCount,
                                                           UInt64(sealed.count - nonceCount), associatedData,
                                                           UInt64(associatedData.count), buffer.baseAddress!, k)
            }
        }
        guard result == 0 else { throw .authenticationFailed(chunk: 0) }
        return plaintext
    }
}

extension SecretKey {
    /// A key derived from this one for one purpose (`crypto_kdf`, BLAKE2b): keys for different purposes are
    /// independent, and none reveals this key.
    public func derived(purpose: UInt64, context: String = "keepsake") -> SecretKey {
        var ctx = Array(context.utf8.prefix(8))
        ctx += [UInt8](repeating: 0x20, count: 8 - ctx.count)
        return SecretKey { out in
            withPointer { master in
                ctx.withUnsafeBufferPointer { c in
                    c.baseAddress!.withMemoryRebound(to: CChar.self, capacity: 8) { context in
                        _ = crypto_kdf_derive_from_key(out.baseAddress!.assumingMemoryBound(to: UInt8.self), SecretKey.byteCount,
                                                       purpose, context, master)
                    }
                }
            }
        }
    }
}

extension Blake2b {
    /// A keyed BLAKE2b-256 of `bytes`: without the key, nobody can tell which input gave it.
    public static func keyedHash(_ bytes: [UInt8], key: SecretKey) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        key.withPointer { k in
            _ = crypto_generichash(&digest, digest.count, bytes, UInt64(bytes.count), k, SecretKey.byteCount)
        }
        return digest
    }
}
