/// A JPEG's marker segments before the image data, walked through small bounded reads: the metadata stage
/// takes EXIF, XMP and the frame size from them, the thumbnail stage the frame header.
enum JPEGSegments {
    struct Segment {
        var marker: UInt8
        var payloadOffset: UInt64
        var payloadLength: Int

        /// A start-of-frame segment (baseline, extended, progressive, lossless, ...), not DHT, JPG or DAC.
        var isFrameHeader: Bool { (0xC0...0xCF).contains(marker) && ![0xC4, 0xC8, 0xCC].contains(marker) }
    }

    private static let maximumSteps = 100_000

    /// Hands each segment after the start-of-image marker at `start` to `visit`, until the image data, the end
    /// of the image, a damaged marker or `visit` answering false. `read(offset, count)` gives up to `count`
    /// bytes at `offset`.
    static func walk(from start: UInt64, read: (UInt64, Int) -> ByteView, visit: (Segment) -> Bool) {
        var offset = start + 2
        for _ in 0..<maximumSteps {
            let head = read(offset, 4)
            guard head[0] == 0xFF, head.count >= 2 else { return }
            let marker = head[1]
            if marker == 0xFF { offset += 1; continue }  // fill byte
            if marker == 0x01 || (0xD0...0xD7).contains(marker) { offset += 2; continue }
            if marker == 0xDA || marker == 0xD9 { return }  // image data or end: no more headers
            guard let length = head.uint16BE(2), length >= 2 else { return }
            let segment = Segment(marker: marker, payloadOffset: offset + 4, payloadLength: Int(length) - 2)
            guard visit(segment) else { return }
            offset = segment.payloadOffset + UInt64(segment.payloadLength)
        }
    }
}
