/// Bounds-checked reads from a byte buffer: every accessor answers nil (or 0) past the end.
package struct ByteView {
    package let bytes: [UInt8]
    package init(_ bytes: [UInt8]) { self.bytes = bytes }

    package var count: Int { bytes.count }
    package subscript(_ index: Int) -> UInt8 { index >= 0 && index < bytes.count ? bytes[index] : 0 }

    package func starts(with prefix: [UInt8]) -> Bool { bytes.starts(with: prefix) }

    package func has(_ offset: Int, _ length: Int) -> Bool {
        offset >= 0 && length >= 0 && offset <= bytes.count - length
    }

    package func ascii(_ offset: Int, _ length: Int) -> String? {
        guard has(offset, length) else { return nil }
        let slice = bytes[offset..<offset + length]
        let trimmed = slice.prefix { $0 != 0 }
        guard trimmed.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { return nil }
        return String(decoding: trimmed, as: UTF8.self)
    }

    /// A NUL-terminated string starting at `offset` (the rest of the buffer when unterminated), and the offset after it.
    package func cString(_ offset: Int) -> (String, next: Int)? {
        guard has(offset, 0) else { return nil }
        let end = bytes[offset...].firstIndex(of: 0) ?? bytes.count
        return (String(decoding: bytes[offset..<end], as: UTF8.self), min(end + 1, bytes.count))
    }

    package func slice(_ offset: Int, _ length: Int) -> [UInt8]? {
        guard has(offset, length) else { return nil }
        return Array(bytes[offset..<offset + length])
    }

    package func uint8(_ offset: Int) -> UInt8? { has(offset, 1) ? bytes[offset] : nil }

    package func uint16(_ offset: Int, littleEndian: Bool) -> UInt16? {
        guard has(offset, 2) else { return nil }
        let a = UInt16(bytes[offset]), b = UInt16(bytes[offset + 1])
        return littleEndian ? a | b << 8 : a << 8 | b
    }

    package func uint32(_ offset: Int, littleEndian: Bool) -> UInt32? {
        guard has(offset, 4) else { return nil }
        let v = (0..<4).map { UInt32(bytes[offset + $0]) }
        return littleEndian ? v[0] | v[1] << 8 | v[2] << 16 | v[3] << 24 : v[0] << 24 | v[1] << 16 | v[2] << 8 | v[3]
    }

    package func uint32BE(_ offset: Int) -> UInt32? { uint32(offset, littleEndian: false) }
    package func uint16BE(_ offset: Int) -> UInt16? { uint16(offset, littleEndian: false) }

    package func uint64BE(_ offset: Int) -> UInt64? {
        guard let high = uint32BE(offset), let low = uint32BE(offset + 4) else { return nil }
        return UInt64(high) << 32 | UInt64(low)
    }

    /// A big-endian unsigned integer of 0, 4 or 8 bytes, as ISO-BMFF `iloc` sizes them.
    package func uintBE(_ offset: Int, size: Int) -> UInt64? {
        switch size {
        case 0: 0
        case 2: uint16BE(offset).map(UInt64.init)
        case 4: uint32BE(offset).map(UInt64.init)
        case 8: uint64BE(offset)
        default: nil
        }
    }

    /// Where `needle` first starts, looking only at the bytes below `limit`.
    package func firstIndex(of needle: [UInt8], below limit: Int) -> Int? {
        let end = min(limit, bytes.count) - needle.count
        guard !needle.isEmpty, end >= 0 else { return nil }
        return (0...end).first { bytes[$0] == needle[0] && bytes[$0..<$0 + needle.count].elementsEqual(needle) }
    }
}

extension ByteView {
    package func starts(at offset: Int, with prefix: [UInt8]) -> Bool {
        guard has(offset, prefix.count) else { return false }
        return bytes[offset..<offset + prefix.count].elementsEqual(prefix)
    }
}

extension ByteView {
    /// Up to `count` bytes of `bytes` from `offset` on (fewer at the end, none past it): how the segment and
    /// chunk walkers read data already in memory.
    package static func window<Bytes: RandomAccessCollection<UInt8>>(of bytes: Bytes, at offset: UInt64, count: Int) -> ByteView
    where Bytes.Index == Int {
        let start = bytes.startIndex + Int(clamping: min(offset, UInt64(bytes.count)))
        return ByteView(Array(bytes[start..<min(start + max(count, 0), bytes.endIndex)]))
    }
}
