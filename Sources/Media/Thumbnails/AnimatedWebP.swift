/// libavcodec 5.1's WebP decoder cannot read animated WebP, so the first frame's bitstream is
/// rewrapped as a still WebP (its alpha, which the thumbnail drops anyway, left out).
enum AnimatedWebP {
    /// The first frame as a simple WebP file, or nil when `webp` is not an animated WebP.
    static func firstFrame(of webp: UnsafeMutableBufferPointer<UInt8>) throws(MediaError) -> Packet? {
        guard webp.count >= 30, ascii(webp, 12) == "VP8X", webp[20] & 0x02 != 0 else { return nil }
        guard let frame = chunks(in: webp, from: 12, to: webp.count).first(where: { $0.type == "ANMF" }) else {
            throw MediaError(.thumbnail, .corrupt("animated WebP without frames"))
        }
        // ANMF: 16 bytes of placement and timing, then the frame's own chunks.
        let bitstream = chunks(in: webp, from: frame.body + 16, to: frame.body + frame.size)
            .first { $0.type == "VP8 " || $0.type == "VP8L" }
        guard let bitstream else { throw MediaError(.thumbnail, .corrupt("animated WebP frame without a VP8/VP8L bitstream")) }
        let chunkSize = 8 + bitstream.size + (bitstream.size & 1)
        let packet = try Packet(size: 12 + chunkSize, stage: .thumbnail)
        let out = packet.bytes
        out.update(fromContentsOf: Array("RIFF".utf8) + littleEndian(UInt32(4 + chunkSize)) + Array("WEBP".utf8))
        for (index, byte) in webp[bitstream.body - 8..<bitstream.body + bitstream.size].enumerated() { out[12 + index] = byte }
        return packet
    }

    private struct Chunk { var type: String; var body: Int; var size: Int }

    /// The RIFF chunks between `start` and `end` that lie wholly inside the data.
    private static func chunks(in bytes: UnsafeMutableBufferPointer<UInt8>, from start: Int, to end: Int) -> [Chunk] {
        var found: [Chunk] = []
        var offset = start
        let limit = min(end, bytes.count)
        while offset + 8 <= limit {
            let size = (0..<4).reduce(0) { $0 | Int(bytes[offset + 4 + $1]) << (8 * $1) }
            guard size <= limit - offset - 8 else { break }
            found.append(Chunk(type: ascii(bytes, offset), body: offset + 8, size: size))
            offset += 8 + size + (size & 1)
        }
        return found
    }

    private static func ascii(_ bytes: UnsafeMutableBufferPointer<UInt8>, _ offset: Int) -> String {
        String(decoding: bytes[offset..<offset + 4], as: UTF8.self)
    }

    private static func littleEndian(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
}
