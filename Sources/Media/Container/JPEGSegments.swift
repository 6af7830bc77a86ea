#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MediaTypes

/// A JPEG's marker segments before the image data, walked through small bounded reads: the metadata stage
/// takes EXIF, XMP and the frame size from them, the thumbnail stage the frame header and where the image ends.
enum JPEGSegments {
    struct Segment {
        var marker: UInt8
        var payloadOffset: UInt64
        var payloadLength: Int

        /// A start-of-frame segment (baseline, extended, progressive, lossless, ...), not DHT, JPG or DAC.
        var isFrameHeader: Bool { (0xC0...0xCF).contains(marker) && ![0xC4, 0xC8, 0xCC].contains(marker) }
    }

    private static let maximumSteps = 100_000
    /// How much entropy-coded data `endOfImage` reads at a time.
    static let scanChunkSize = 256 * 1024

    /// Hands each segment after the start-of-image marker at `start` to `visit`, until the image data, the end
    /// of the image, a damaged marker or `visit` answering false. `read(offset, count)` gives up to `count`
    /// bytes at `offset`.
    static func walk(from start: UInt64, read: (UInt64, Int) -> ByteView, visit: (Segment) -> Bool) {
        _ = walkSegments(from: start + 2, read: read, visit: visit)
    }

    /// Where the image whose start-of-image marker is at `start` ends: the offset just past its end-of-image
    /// marker, found by walking its segments and scanning the entropy-coded data after each start of scan.
    /// Nil when there is no start-of-image marker, or the data ends (a truncated file) or is damaged first.
    /// What follows the end (a motion photo's video) is never read.
    static func endOfImage(from start: UInt64, read: (UInt64, Int) -> ByteView) -> UInt64? {
        guard read(start, 2).starts(with: [0xFF, 0xD8]) else { return nil }
        var offset = start + 2
        for _ in 0..<maximumSteps {
            switch walkSegments(from: offset, read: read, visit: { _ in true }) {
            case .endOfImage(let at): return at + 2
            case .startOfScan(let header):
                guard let next = endOfEntropyCodedData(from: header.payloadOffset + UInt64(header.payloadLength), read: read)
                else { return nil }
                offset = next
            case .stopped: return nil
            }
        }
        return nil
    }

    private enum WalkEnd {
        /// The start-of-scan segment (its header; the entropy-coded data follows it).
        case startOfScan(Segment)
        /// The end-of-image marker's offset.
        case endOfImage(UInt64)
        /// A damaged marker, the end of the data, too many steps, or `visit` answered false.
        case stopped
    }

    /// Walks the segments from the marker at `offset` until a start of scan, the end of the image, a damaged
    /// marker or `visit` answering false.
    private static func walkSegments(from start: UInt64, read: (UInt64, Int) -> ByteView, visit: (Segment) -> Bool) -> WalkEnd {
        var offset = start
        for _ in 0..<maximumSteps {
            let head = read(offset, 4)
            guard head[0] == 0xFF, head.count >= 2 else { return .stopped }
            let marker = head[1]
            if marker == 0xFF { offset += 1; continue }  // fill byte
            if marker == 0x01 || (0xD0...0xD7).contains(marker) { offset += 2; continue }
            if marker == 0xD9 { return .endOfImage(offset) }
            guard let length = head.uint16BE(2), length >= 2 else { return .stopped }
            let segment = Segment(marker: marker, payloadOffset: offset + 4, payloadLength: Int(length) - 2)
            if marker == 0xDA { return .startOfScan(segment) }  // image data: no more headers
            guard visit(segment) else { return .stopped }
            offset = segment.payloadOffset + UInt64(segment.payloadLength)
        }
        return .stopped
    }

    /// The offset of the first marker after the entropy-coded data at `start`, read in chunks: that data holds
    /// 0xFF only as FF 00 (a stuffed byte), a restart marker or fill before a marker. Nil when the data ends first.
    private static func endOfEntropyCodedData(from start: UInt64, read: (UInt64, Int) -> ByteView) -> UInt64? {
        var offset = start
        while true {
            let chunk = read(offset, scanChunkSize)
            guard chunk.count >= 2 else { return nil }
            // Only bytes whose successor is in the chunk are looked at; the last one starts the next chunk.
            var at = 0
            while let found = firstFF(in: chunk.bytes, from: at, below: chunk.count - 1) {
                let next = chunk[found + 1]
                if next == 0x00 || (0xD0...0xD7).contains(next) {
                    at = found + 2
                } else if next == 0xFF {
                    at = found + 1
                } else {
                    return offset + UInt64(found)
                }
            }
            offset += UInt64(max(at, chunk.count - 1))
        }
    }

    private static func firstFF(in bytes: [UInt8], from start: Int, below end: Int) -> Int? {
        guard start < end else { return nil }
        return bytes.withUnsafeBufferPointer { buffer in
            memchr(buffer.baseAddress! + start, 0xFF, end - start).map { buffer.baseAddress!.distance(to: $0.assumingMemoryBound(to: UInt8.self)) }
        }
    }
}
