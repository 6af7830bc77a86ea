import MediaTypes

/// The chunks of a RIFF file (WebP), walked through small bounded reads: the metadata stage takes the size,
/// EXIF and XMP from them, the thumbnail stage an animated WebP's first frame.
enum RIFFChunks {
    struct Chunk {
        var type: String
        var payloadOffset: UInt64
        /// As declared: it may run past the end of the data.
        var length: UInt64

        /// Where the next chunk starts (payloads are padded to an even length).
        var end: UInt64 { payloadOffset + length + (length & 1) }
    }

    private static let maximumSteps = 100_000

    /// Hands each chunk whose header lies between `start` and `end` to `visit`, until a header is damaged or
    /// `visit` answers false. `read(offset, count)` gives up to `count` bytes at `offset`.
    static func walk(from start: UInt64, to end: UInt64, read: (UInt64, Int) -> ByteView, visit: (Chunk) -> Bool) {
        var offset = start
        for _ in 0..<maximumSteps {
            guard offset + 8 <= end else { return }
            let head = read(offset, 8)
            guard let type = head.ascii(0, 4), let length = head.uint32(4, littleEndian: true) else { return }
            let chunk = Chunk(type: type, payloadOffset: offset + 8, length: UInt64(length))
            guard visit(chunk) else { return }
            offset = chunk.end
        }
    }
}
