import CFFmpeg

/// AES-128-CBC with PKCS#7 padding over a sequence of segments, as HLS `METHOD=AES-128` wants: every segment
/// is encrypted on its own, starting from its own IV (`iv(forSegment:base:)`), so that segments that start alike do
/// not encrypt alike. Plaintext streams through in pieces of any size.
final class SegmentCipher {
    static let blockSize = 16

    private let aes: OpaquePointer
    private let baseIV: [UInt8]
    private var chainIV: [UInt8]
    /// The segment being encrypted, counted from 0.
    private var segment = 0
    /// Plaintext bytes short of a whole block, waiting for more.
    private var pending: [UInt8] = []
    private var scratch: [UInt8] = []
    private let output: (UnsafeRawBufferPointer) throws -> Void

    /// Ciphertext bytes handed to `output` so far.
    private(set) var bytesWritten = 0

    init(key: [UInt8], iv: [UInt8], output: @escaping (UnsafeRawBufferPointer) throws -> Void) throws(MediaError) {
        guard key.count == Self.blockSize, iv.count == Self.blockSize else {
            throw MediaError(.stream, .encodeFailed("AES-128 needs a 16-byte key and IV, got \(key.count) and \(iv.count)"))
        }
        guard let aes = av_aes_alloc() else { throw MediaError(.stream, .encodeFailed("out of memory for AES")) }
        self.aes = aes
        av_aes_init(aes, key, 128, 0)
        baseIV = iv
        chainIV = Self.iv(forSegment: 0, base: iv)
        self.output = output
    }

    deinit { av_free(UnsafeMutableRawPointer(aes)) }

    /// Encrypts the whole blocks among `pending + bytes` and keeps the rest for later.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        let available = pending.count + bytes.count
        let whole = available - available % Self.blockSize
        guard whole > 0 else {
            pending.append(contentsOf: bytes)
            return
        }
        let fromBytes = whole - pending.count
        pending.append(contentsOf: bytes.prefix(fromBytes))
        try encrypt(pending)
        pending.removeAll(keepingCapacity: true)
        pending.append(contentsOf: bytes.dropFirst(fromBytes))
    }

    /// The IV of segment `index`: `base` with `index` added to its low 64 bits (big-endian, wrapping), so every
    /// segment of a stream has its own IV and the playlist names each.
    static func iv(forSegment index: Int, base: [UInt8]) -> [UInt8] {
        var iv = base
        var carry = UInt64(index)
        for position in stride(from: iv.count - 1, through: iv.count - 8, by: -1) where carry != 0 {
            let sum = UInt64(iv[position]) + (carry & 0xFF)
            iv[position] = UInt8(truncatingIfNeeded: sum)
            carry = (carry >> 8) + (sum >> 8)
        }
        return iv
    }

    /// Pads and encrypts what remains of the current segment; the next one starts from its own IV.
    func endSegment() throws {
        let padding = Self.blockSize - pending.count
        pending.append(contentsOf: repeatElement(UInt8(padding), count: padding))
        try encrypt(pending)
        pending.removeAll(keepingCapacity: true)
        segment += 1
        chainIV = Self.iv(forSegment: segment, base: baseIV)
    }

    private func encrypt(_ plaintext: [UInt8]) throws {
        if scratch.count < plaintext.count { scratch = [UInt8](repeating: 0, count: plaintext.count) }
        let blocks = Int32(plaintext.count / Self.blockSize)
        scratch.withUnsafeMutableBufferPointer { destination in
            av_aes_crypt(aes, destination.baseAddress, plaintext, blocks, &chainIV, 0)
        }
        try scratch.withUnsafeBytes { try output(UnsafeRawBufferPointer(rebasing: $0.prefix(plaintext.count))) }
        bytesWritten += plaintext.count
    }
}
