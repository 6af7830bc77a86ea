import CSodium

/// Reads a byte range of the plaintext of a stream written by `SealingStream` without decrypting what lies before it:
/// how a download serves an HTTP range near the end of a large original.
///
/// libsodium's secretstream state after chunk `i` is the state after chunk `i - 1` with its 32-bit counter
/// incremented and its 8-byte inner nonce XORed with the first 8 bytes of chunk `i`'s authentication tag (the last
/// 16 bytes of the sealed chunk), with no rekey for our streams (no REKEY tag, far fewer than 2^32 chunks). So the
/// state at chunk `k` follows from the header and the tags of the `k` chunks before it, 16 bytes each, and chunk `k`
/// then opens, authenticated, as a sequential reader would open it: a changed tag on the way makes it fail.
public final class SealedRangeReader {
    /// Reads the sealed bytes at `range` of the stored object (fewer only at its end).
    public typealias ReadSealed = (_ range: Range<UInt64>) throws -> [UInt8]

    public let plaintextSize: UInt64
    private let key: SecretKey
    private let chunkSize: UInt64
    private let sealedChunkSize: UInt64
    private let chunkCount: UInt64
    private let readSealed: ReadSealed
    private let header: [UInt8]
    private let state = UnsafeMutablePointer<crypto_secretstream_xchacha20poly1305_state>.allocate(capacity: 1)
    /// The chunk the state is positioned at.
    private var position: UInt64 = 0
    private var plain: [UInt8]
    /// The state's nonce is a little-endian counter then the inner nonce (libsodium's `STATE_COUNTER`, `STATE_INONCE`,
    /// private to its source but fixed by the format: `crypto_secretstream_xchacha20poly1305_state` is public).
    private static let counterBytes = 4, innerNonceBytes = 8

    /// `sealedSize` is the stored object's size; a size no stream of `chunkSize` chunks has is `malformed`.
    public init(key: SecretKey, sealedSize: UInt64, chunkSize: Int = SecretStreamFormat.chunkSize,
                readSealed: @escaping ReadSealed) throws {
        try requireSodium()
        guard let size = SecretStreamFormat.plaintextSize(sealedSize: sealedSize, chunkSize: chunkSize) else {
            throw CryptoError.malformed("\(sealedSize) bytes is not the size of a sealed stream")
        }
        self.key = key
        self.plaintextSize = size
        self.chunkSize = UInt64(chunkSize)
        sealedChunkSize = UInt64(chunkSize + SecretStreamFormat.chunkOverhead)
        chunkCount = size / UInt64(chunkSize) + 1
        self.readSealed = readSealed
        header = try readSealed(0..<UInt64(SecretStreamFormat.headerByteCount))
        guard header.count == SecretStreamFormat.headerByteCount else { throw CryptoError.truncated }
        plain = [UInt8](repeating: 0, count: chunkSize)
        try rewind()
    }

    deinit {
        sodium_memzero(state, MemoryLayout<crypto_secretstream_xchacha20poly1305_state>.size)
        state.deallocate()
        wipe(&plain)
    }

    /// Streams the plaintext bytes at `range` (clamped to the plaintext) to `sink`, chunk by chunk.
    public func read(_ range: Range<UInt64>, into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        let range = range.clamped(to: 0..<plaintextSize)
        guard !range.isEmpty else { return }
        let first = range.lowerBound / chunkSize, last = (range.upperBound - 1) / chunkSize
        try seek(toChunk: first)
        for chunk in first...last {
            let length = try openNext()
            let chunkStart = chunk * chunkSize
            let from = Int(max(range.lowerBound, chunkStart) - chunkStart)
            let to = Int(min(range.upperBound, chunkStart + UInt64(length)) - chunkStart)
            try plain.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[from..<to])) }
        }
    }

    private func rewind() throws {
        let status = key.withPointer { crypto_secretstream_xchacha20poly1305_init_pull(state, header, $0) }
        guard status == 0 else { throw CryptoError.malformed("invalid secretstream header") }
        position = 0
    }

    /// Positions the state at `chunk`, moving forward over tags only.
    private func seek(toChunk chunk: UInt64) throws {
        if chunk < position { try rewind() }
        while position < chunk {
            let tagEnd = sealedOffset(ofChunk: position) + sealedChunkSize
            let tag = try readSealed(tagEnd - UInt64(SecretStreamFormat.chunkOverhead - 1)..<tagEnd)
            guard tag.count == SecretStreamFormat.chunkOverhead - 1 else { throw CryptoError.truncated }
            withUnsafeMutableBytes(of: &state.pointee.nonce) { nonce in
                for i in 0..<Self.innerNonceBytes { nonce[Self.counterBytes + i] ^= tag[i] }
                sodium_increment(nonce.baseAddress!.assumingMemoryBound(to: UInt8.self), Self.counterBytes)
            }
            position += 1
        }
    }

    /// Opens the chunk at `position` into `plain`; returns its plaintext length.
    private func openNext() throws -> Int {
        let start = sealedOffset(ofChunk: position)
        let isLast = position == chunkCount - 1
        let sealed = try readSealed(start..<start + sealedChunkSize)
        let expected = isLast ? Int(plaintextSize % chunkSize) + SecretStreamFormat.chunkOverhead : Int(sealedChunkSize)
        guard sealed.count == expected else { throw CryptoError.truncated }
        var length: UInt64 = 0
        var tag: UInt8 = 0
        let status = crypto_secretstream_xchacha20poly1305_pull(state, &plain, &length, &tag, sealed, UInt64(sealed.count), nil, 0)
        guard status == 0 else { throw CryptoError.authenticationFailed(chunk: Int(position)) }
        // Only the last chunk may carry FINAL, and it must: a stream cut short at a chunk edge is told.
        guard (tag == UInt8(crypto_secretstream_xchacha20poly1305_TAG_FINAL)) == isLast else {
            throw isLast ? CryptoError.truncated : CryptoError.trailingData
        }
        position += 1
        return Int(length)
    }

    private func sealedOffset(ofChunk chunk: UInt64) -> UInt64 {
        UInt64(SecretStreamFormat.headerByteCount) + chunk * sealedChunkSize
    }
}

extension SecretStreamFormat {
    /// The plaintext size of a sealed stream of `sealedSize` bytes; nil when no stream has that size.
    public static func plaintextSize(sealedSize: UInt64, chunkSize: Int = chunkSize) -> UInt64? {
        let overhead = UInt64(chunkOverhead), sealedChunk = UInt64(chunkSize) + overhead
        guard sealedSize >= UInt64(headerByteCount) + overhead else { return nil }
        let body = sealedSize - UInt64(headerByteCount)
        // Every chunk but the last is full; the last (possibly empty) is shorter than a full one.
        let rest = body % sealedChunk
        guard rest >= overhead else { return nil }
        return body / sealedChunk * UInt64(chunkSize) + rest - overhead
    }
}
