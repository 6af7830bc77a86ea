import CSodium

/// Streaming BLAKE2b-512 (`crypto_generichash`, 64-byte output).
public final class Blake2b {
    public static let digestByteCount = Int(crypto_generichash_BYTES_MAX)

    // libsodium requires this state to be 64-byte aligned.
    private let state: UnsafeMutableRawPointer
    private var finished = false

    public init() {
        precondition((try? requireSodium()) != nil, "libsodium unavailable")
        state = .allocate(byteCount: crypto_generichash_statebytes(), alignment: 64)
        crypto_generichash_init(statePointer, nil, 0, Self.digestByteCount)
    }

    deinit { state.deallocate() }

    // The state type is over-aligned in C and imports into Swift as an opaque pointer.
    private var statePointer: OpaquePointer { OpaquePointer(state) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        precondition(!finished, "Blake2b updated after finalize")
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        crypto_generichash_update(statePointer, base.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
    }

    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    public func finalize() -> [UInt8] {
        precondition(!finished, "Blake2b finalized twice")
        finished = true
        var digest = [UInt8](repeating: 0, count: Self.digestByteCount)
        crypto_generichash_final(statePointer, &digest, digest.count)
        return digest
    }

    /// The digest of `bytes` in one call.
    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        let hasher = Blake2b()
        hasher.update(bytes)
        return hasher.finalize()
    }
}

extension Array where Element == UInt8 {
    /// Lower-case hexadecimal.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(count * 2)
        for byte in self { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 0xF)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
