import CSodium

/// The layout of an encrypted object: a 24-byte secretstream header, then chunks of `chunkSize` plaintext
/// bytes each sealed with `crypto_secretstream_xchacha20poly1305` (17 bytes of overhead a chunk). The last
/// chunk, possibly empty, carries the FINAL tag, so truncation and reordering are detected.
public enum SecretStreamFormat {
    public static let chunkSize = 4 << 20
    public static let headerByteCount = Int(crypto_secretstream_xchacha20poly1305_HEADERBYTES)
    public static let chunkOverhead = Int(crypto_secretstream_xchacha20poly1305_ABYTES)

    /// The size of the encrypted object for `plaintextSize` bytes.
    public static func sealedSize(plaintextSize: Int, chunkSize: Int = chunkSize) -> Int {
        let chunks = plaintextSize / chunkSize + 1  // the final chunk is present even when empty
        return headerByteCount + plaintextSize + chunks * chunkOverhead
    }
}

/// Encrypts a byte stream written in pieces of any size, handing ciphertext to `sink` chunk by chunk.
///
/// Its buffers grow with what is written, up to a chunk: a small object (a thumbnail, a metadata document) costs
/// its own size, not the 4 MiB of a full chunk.
public final class SealingStream {
    public typealias Sink = (UnsafeRawBufferPointer) throws -> Void

    private let state = UnsafeMutablePointer<crypto_secretstream_xchacha20poly1305_state>.allocate(capacity: 1)
    private let chunkSize: Int
    private let sink: Sink
    private var pending: [UInt8]
    private var sealed: [UInt8]
    private var finished = false

    /// Emits the header to `sink` at once.
    public init(key: SecretKey, chunkSize: Int = SecretStreamFormat.chunkSize, sink: @escaping Sink) throws {
        try requireSodium()
        self.chunkSize = chunkSize
        self.sink = sink
        pending = []
        sealed = []
        var header = [UInt8](repeating: 0, count: SecretStreamFormat.headerByteCount)
        key.withPointer { _ = crypto_secretstream_xchacha20poly1305_init_push(state, &header, $0) }
        try header.withUnsafeBytes { try sink($0) }
    }

    deinit {
        sodium_memzero(state, MemoryLayout<crypto_secretstream_xchacha20poly1305_state>.size)
        state.deallocate()
        wipe(&pending)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(!finished, "SealingStream written after finish")
        var rest = bytes[...]
        while !rest.isEmpty {
            let take = min(chunkSize - pending.count, rest.count)
            reservePending(pending.count + take)
            pending.append(contentsOf: rest.prefix(take))
            rest = rest.dropFirst(take)
            // A full chunk is sealed only once more data arrives, so that the last one can carry FINAL.
            if pending.count == chunkSize && !rest.isEmpty { try sealPending(final: false) }
        }
    }

    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    /// The bytes its buffers hold now.
    var bufferByteCount: Int { pending.capacity + sealed.capacity }

    /// Seals what is left as the FINAL chunk.
    public func finish() throws {
        precondition(!finished, "SealingStream finished twice")
        if pending.count == chunkSize { try sealPending(final: false) }
        try sealPending(final: true)
        finished = true
    }

    /// Grows `pending` to hold `count` bytes (doubling, at most a chunk), wiping the plaintext it moves out of.
    private func reservePending(_ count: Int) {
        guard count > pending.capacity else { return }
        var grown = [UInt8]()
        grown.reserveCapacity(min(chunkSize, max(count, 2 * pending.capacity)))
        grown.append(contentsOf: pending)
        wipe(&pending)
        pending = grown
    }

    private func sealPending(final: Bool) throws {
        if sealed.count < pending.count + SecretStreamFormat.chunkOverhead {
            sealed = [UInt8](repeating: 0, count: pending.count + SecretStreamFormat.chunkOverhead)
        }
        let tag = UInt8(final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE)
        var length: UInt64 = 0
        _ = crypto_secretstream_xchacha20poly1305_push(state, &sealed, &length, pending, UInt64(pending.count), nil, 0, tag)
        try sealed.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0.prefix(Int(length)))) }
        sodium_memzero(&pending, pending.count)
        pending.removeAll(keepingCapacity: true)
    }

    /// Encrypts a small byte string in one call.
    public static func seal(_ plaintext: [UInt8], key: SecretKey) throws -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(SecretStreamFormat.sealedSize(plaintextSize: plaintext.count))
        let stream = try SealingStream(key: key) { out.append(contentsOf: $0) }
        try stream.write(plaintext)
        try stream.finish()
        return out
    }
}

/// Decrypts a stream written by `SealingStream`, handing each authenticated chunk's plaintext to `sink`.
///
/// A chunk reaches `sink` only once it has been authenticated, but the whole stream is proven complete only
/// when `finish()` returns: a caller writing the plaintext somewhere must discard it if anything throws.
public final class OpeningStream {
    public typealias Sink = (UnsafeRawBufferPointer) throws -> Void

    private let state = UnsafeMutablePointer<crypto_secretstream_xchacha20poly1305_state>.allocate(capacity: 1)
    private let key: SecretKey
    private let sealedChunkSize: Int
    private let sink: Sink
    private var pending: [UInt8] = []
    private var plain: [UInt8]
    private var started = false
    private var sawFinal = false
    private var chunkIndex = 0

    public init(key: SecretKey, chunkSize: Int = SecretStreamFormat.chunkSize, sink: @escaping Sink) throws {
        try requireSodium()
        self.key = key
        self.sealedChunkSize = chunkSize + SecretStreamFormat.chunkOverhead
        self.sink = sink
        plain = []
    }

    deinit {
        sodium_memzero(state, MemoryLayout<crypto_secretstream_xchacha20poly1305_state>.size)
        state.deallocate()
        wipe(&plain)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var rest = bytes[...]
        while !rest.isEmpty {
            if sawFinal { throw CryptoError.trailingData }
            let need = (started ? sealedChunkSize : SecretStreamFormat.headerByteCount) - pending.count
            let take = min(need, rest.count)
            pending.append(contentsOf: rest.prefix(take))
            rest = rest.dropFirst(take)
            guard take == need else { break }
            if started { try openPending() } else { try startWithHeader() }
        }
    }

    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    /// The bytes its buffers hold now.
    var bufferByteCount: Int { pending.capacity + plain.capacity }

    /// Opens the last, shorter chunk and checks that the stream was complete.
    public func finish() throws {
        if !started { throw CryptoError.truncated }
        if !pending.isEmpty {
            if sawFinal { throw CryptoError.trailingData }
            guard pending.count >= SecretStreamFormat.chunkOverhead else { throw CryptoError.truncated }
            try openPending()
        }
        guard sawFinal else { throw CryptoError.truncated }
    }

    private func startWithHeader() throws {
        let status = key.withPointer { crypto_secretstream_xchacha20poly1305_init_pull(state, pending, $0) }
        guard status == 0 else { throw CryptoError.malformed("invalid secretstream header") }
        pending.removeAll(keepingCapacity: true)
        started = true
    }

    private func openPending() throws {
        // Sized to the chunk at hand, so a small object costs its own size (pending grows with what is written).
        let plainCount = max(1, pending.count - SecretStreamFormat.chunkOverhead)
        if plain.count < plainCount {
            wipe(&plain)
            plain = [UInt8](repeating: 0, count: plainCount)
        }
        var length: UInt64 = 0
        var tag: UInt8 = 0
        let status = crypto_secretstream_xchacha20poly1305_pull(state, &plain, &length, &tag, pending, UInt64(pending.count), nil, 0)
        guard status == 0 else { throw CryptoError.authenticationFailed(chunk: chunkIndex) }
        chunkIndex += 1
        pending.removeAll(keepingCapacity: true)
        if tag == UInt8(crypto_secretstream_xchacha20poly1305_TAG_FINAL) { sawFinal = true }
        try plain.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0.prefix(Int(length)))) }
    }

    /// Decrypts a small sealed byte string in one call.
    public static func open(_ sealed: [UInt8], key: SecretKey) throws -> [UInt8] {
        var out = [UInt8]()
        let stream = try OpeningStream(key: key) { out.append(contentsOf: $0) }
        try stream.write(sealed)
        try stream.finish()
        return out
    }
}
