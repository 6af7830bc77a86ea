import Foundation
import Media
import MediaTypes
import TestSupport

/// Sniffs a file from its first `Sniffer.headerLength` bytes, as the pipeline does.
func sniffFile(_ path: String) -> SniffResult {
    guard let handle = FileHandle(forReadingAtPath: path) else { return .empty }
    defer { try? handle.close() }
    return Sniffer.sniff((try? handle.read(upToCount: Sniffer.headerLength)) ?? Data())
}

/// The metadata of a corpus file, or nil when the corpus is absent.
func corpusMetadata(_ name: String) throws -> MediaMetadata? {
    guard let corpus = TestEnvironment.corpus else { return nil }
    let path = corpus.appendingPathComponent(name).path
    guard case .media(let format) = sniffFile(path) else { return nil }
    return try MetadataReader.read(fileAt: path, format: format)
}

/// A TIFF structure with one IFD, for crafting EXIF blocks in tests.
struct TIFFBuilder {
    enum Value {
        case ascii(String), short(UInt16), long(UInt32), rationals([(UInt32, UInt32)])
    }

    var littleEndian = true
    var entries: [(tag: UInt16, value: Value)]

    func build() -> [UInt8] {
        func u16(_ v: UInt16) -> [UInt8] { littleEndian ? [UInt8(v & 0xFF), UInt8(v >> 8)] : [UInt8(v >> 8), UInt8(v & 0xFF)] }
        func u32(_ v: UInt32) -> [UInt8] {
            let bytes = (0..<4).map { UInt8(v >> (8 * $0) & 0xFF) }
            return littleEndian ? bytes : bytes.reversed()
        }
        var bytes = (littleEndian ? [0x49, 0x49] : [0x4D, 0x4D]) + u16(42) + u32(8) + u16(UInt16(entries.count))
        let dataStart = 8 + 2 + entries.count * 12 + 4
        var data: [UInt8] = []
        for (tag, value) in entries.sorted(by: { $0.tag < $1.tag }) {
            let (type, count, payload): (UInt16, Int, [UInt8]) = switch value {
            case .ascii(let text): (2, text.utf8.count + 1, Array(text.utf8) + [0])
            case .short(let v): (3, 1, u16(v))
            case .long(let v): (4, 1, u32(v))
            case .rationals(let parts): (5, parts.count, parts.flatMap { u32($0.0) + u32($0.1) })
            }
            bytes += u16(tag) + u16(type) + u32(UInt32(count))
            if payload.count <= 4 {
                bytes += payload + Array(repeating: 0, count: 4 - payload.count)
            } else {
                bytes += u32(UInt32(dataStart + data.count))
                data += payload
            }
        }
        return bytes + u32(0) + data
    }
}

/// An ISO-BMFF box.
func box(_ type: String, _ payload: [UInt8]) -> [UInt8] {
    let size = UInt32(8 + payload.count)
    return withUnsafeBytes(of: size.bigEndian, Array.init) + Array(type.utf8) + payload
}
