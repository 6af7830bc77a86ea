import CSodium

/// Seals one key under another with `crypto_secretbox` (XSalsa20-Poly1305): nonce ‖ MAC ‖ ciphertext.
public enum KeyWrap {
    public static let wrappedByteCount = Int(crypto_secretbox_NONCEBYTES) + Int(crypto_secretbox_MACBYTES) + SecretKey.byteCount

    public static func wrap(_ key: SecretKey, with wrappingKey: SecretKey) -> [UInt8] {
        let nonceCount = Int(crypto_secretbox_NONCEBYTES)
        var out = randomBytes(nonceCount) + [UInt8](repeating: 0, count: wrappedByteCount - nonceCount)
        out.withUnsafeMutableBufferPointer { buffer in
            let nonce = buffer.baseAddress!
            key.withPointer { plain in
                wrappingKey.withPointer { wk in
                    _ = crypto_secretbox_easy(nonce + nonceCount, plain, UInt64(SecretKey.byteCount), nonce, wk)
                }
            }
        }
        return out
    }

    public static func unwrap(_ wrapped: [UInt8], with wrappingKey: SecretKey) throws(CryptoError) -> SecretKey {
        guard wrapped.count == wrappedByteCount else { throw .malformed("a wrapped key must be \(wrappedByteCount) bytes") }
        let nonceCount = Int(crypto_secretbox_NONCEBYTES)
        var opened = true
        let key = SecretKey { out in
            wrapped.withUnsafeBufferPointer { buffer in
                let nonce = buffer.baseAddress!
                wrappingKey.withPointer { wk in
                    opened = crypto_secretbox_open_easy(out.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                                        nonce + nonceCount, UInt64(wrapped.count - nonceCount),
                                                        nonce, wk) == 0
                }
            }
        }
        guard opened else { throw .unwrapFailed }
        return key
    }
}
