import Glibc

/// Reads a JPEG up to its end-of-image marker and no further, so what follows it stays on disk: the video
/// a motion photo appends, often as large as the photo. Without a marker (a truncated file), reads it all.
enum JPEGStream {
    static let chunkSize = 256 * 1024

    static func read(from file: ImageFile) throws(MediaError) -> Packet {
        var buffer: [UInt8] = []
        /// Whether `count` bytes from `offset` are in `buffer`, reading on through the file in chunks as needed.
        func available(_ offset: Int, _ count: Int) throws(MediaError) -> Bool {
            while buffer.count < offset + count {
                let remaining = file.size - buffer.count
                guard remaining > 0 else { return false }
                buffer += try file.bytes(at: buffer.count, count: min(max(chunkSize, offset + count - buffer.count), remaining))
            }
            return true
        }

        var offset = 2
        var inEntropyCodedData = false
        if try available(0, 2), buffer[0] == 0xFF, buffer[1] == 0xD8 {
            scanning: while try available(offset, 2) {
                if inEntropyCodedData {
                    // Scan data holds 0xFF only as FF 00 (a stuffed byte) or a restart marker; any other is a real marker.
                    let start = offset
                    let next: Int? = buffer.withUnsafeBufferPointer { bytes in
                        memchr(bytes.baseAddress! + start, 0xFF, bytes.count - start).map { UnsafeRawPointer(bytes.baseAddress!).distance(to: $0) }
                    }
                    guard let next else { offset = buffer.count; continue }
                    offset = next
                    guard try available(offset, 2) else { break }
                    let marker = buffer[offset + 1]
                    if marker == 0x00 || (0xD0...0xD7).contains(marker) { offset += 2; continue }
                    if marker == 0xFF { offset += 1; continue }
                    inEntropyCodedData = false
                }
                guard buffer[offset] == 0xFF else { break }
                let marker = buffer[offset + 1]
                switch marker {
                case 0xFF: offset += 1
                case 0xD9: return try packet(buffer[0..<offset + 2])
                case 0x01, 0xD0...0xD7: offset += 2
                default:
                    guard try available(offset, 4) else { break scanning }
                    offset += 2 + (Int(buffer[offset + 2]) << 8 | Int(buffer[offset + 3]))
                    inEntropyCodedData = marker == 0xDA
                }
            }
        }
        _ = try available(file.size, 0)
        return try packet(buffer[...])
    }

    private static func packet(_ bytes: ArraySlice<UInt8>) throws(MediaError) -> Packet {
        let packet = try Packet(size: bytes.count)
        packet.bytes.update(fromContentsOf: bytes)
        return packet
    }
}
