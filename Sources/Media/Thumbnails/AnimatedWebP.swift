import MediaTypes

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
        _ = out.update(fromContentsOf: Array("RIFF".utf8) + littleEndian(UInt32(4 + chunkSize)) + Array("WEBP".utf8))
        for (index, byte) in webp[bitstream.body - 8..<bitstream.body + bitstream.size].enumerated() { out[12 + index] = byte }
        return packet
    }

    private struct Chunk { var type: String; var body: Int; var size: Int }

    /// The RIFF chunks between `start` and `end` that lie wholly inside the data.
    private static func chunks(in bytes: UnsafeMutableBufferPointer<UInt8>, from start: Int, to end: Int) -> [Chunk] {
        let limit = min(end, bytes.count)
        var found: [Chunk] = []
        RIFFChunks.walk(from: UInt64(start), to: UInt64(max(limit, 0)), read: { ByteView.window(of: bytes, at: $0, count: $1) }) { chunk in
            guard chunk.length <= UInt64(limit) - chunk.payloadOffset else { return false }
            found.append(Chunk(type: chunk.type, body: Int(chunk.payloadOffset), size: Int(chunk.length)))
            return true
        }
        return found
    }

    private static func ascii(_ bytes: UnsafeMutableBufferPointer<UInt8>, _ offset: Int) -> String {
        String(decoding: bytes[offset..<offset + 4], as: UTF8.self)
    }

    private static func littleEndian(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
}
