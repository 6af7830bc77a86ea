import CFFmpeg
import MediaTypes

/// Thumbnails of camera RAW files from the largest JPEG preview they embed: found through the TIFF IFDs
/// (IFD chain and SubIFDs: JpgFromRaw/PreviewImage tags and JPEG-compressed strips) for DNG, CR2, NEF,
/// ARW, ORF and RW2, through the header for RAF, and in the PRVW box for CR3.
enum RawPreview {
    static func make(fileAt path: String, format: MediaFormat, orientation: Int?, size: PictureSize) throws(MediaError) -> RGBImage {
        guard format.isRaw else { throw MediaError(.thumbnail, .unsupportedFormat(format)) }
        let file = try MediaFile(path: path, stage: .thumbnail)
        let (candidates, storedOrientation): ([Extent], Int?) = switch format {
        case .raf: (try rafPreview(file), nil)
        case .cr3: (cr3Preview(file), nil)
        default: try TIFFPreviews.find(in: file)
        }
        let previews = candidates.compactMap { candidate -> (Extent, JPEGFrameHeader)? in
            guard let header = try? JPEGFrameHeader(file.bytes(at: candidate.offset, count: min(candidate.length, 1 << 16))),
                  (0xC0...0xC2).contains(header.marker), header.components == 1 || header.components == 3 else { return nil }
            return (candidate, header)
        }
        guard let best = previews.max(by: { $0.1.width * $0.1.height < $1.1.width * $1.1.height }) else {
            throw MediaError(.thumbnail, .nothingToProcess("the \(format.rawValue.uppercased()) file embeds no JPEG preview"))
        }
        let frame = try StillImageThumbnail.decodeJPEG(file.packet(at: best.0.offset, count: best.0.length), size: size)
        return try StillImageThumbnail.upright(frame, orientation: orientation ?? storedOrientation, size: size)
    }

    struct Extent { var offset: Int; var length: Int }

    /// CR3 (ISO-BMFF): a top-level `uuid` box of this type holds a `PRVW` box whose JPEG (1620×1080 on
    /// current cameras) follows its big-endian length, a few header fields after the box type.
    private static let cr3PreviewUUID: [UInt8] = [0xEA, 0xF4, 0x2B, 0x5E, 0x1C, 0x98, 0x4B, 0x88,
                                                  0xB9, 0xFB, 0xB7, 0xDC, 0x40, 0x6E, 0x4D, 0x16]

    private static func cr3Preview(_ file: MediaFile) -> [Extent] {
        for box in ISOBMFF.topLevelBoxes(of: file) where box.type == "uuid" && box.payloadLength >= 64 {
            // The UUID, 8 bytes, then the PRVW box's header and fields, then the JPEG's start-of-image marker.
            let head = file.view(at: box.payloadOffset, count: 64)
            guard head.starts(with: cr3PreviewUUID), let prvw = head.firstIndex(of: Array("PRVW".utf8), below: 59),
                  let soi = (prvw + 8..<63).first(where: { head.starts(at: $0, with: [0xFF, 0xD8]) }),
                  let length = head.uint32BE(soi - 4) else { continue }
            let start = box.payloadOffset + UInt64(soi)
            guard start < file.size else { continue }
            // The JPEG ends with its box, and with the file when that is cut short.
            let available = min(box.end, file.size) - start
            return [Extent(offset: Int(start), length: Int(min(UInt64(length), available)))]
        }
        return []
    }

    /// RAF: the big-endian offset and length of the preview JPEG at bytes 84 and 88 of the header.
    private static func rafPreview(_ file: MediaFile) throws(MediaError) -> [Extent] {
        let header = ByteView(try file.bytes(at: 84, count: 8))
        return [Extent(offset: Int(header.uint32BE(0) ?? 0), length: Int(header.uint32BE(4) ?? 0))]
    }
}

/// The JPEG candidates in a TIFF-structured file, and IFD0's orientation.
private struct TIFFPreviews {
    private let file: MediaFile
    private let littleEndian: Bool
    private var candidates: [RawPreview.Extent] = []
    private var orientation: Int?
    /// Bounds the walk on files whose IFD offsets loop.
    private static let maxDirectories = 64

    static func find(in file: MediaFile) throws(MediaError) -> ([RawPreview.Extent], Int?) {
        let header = try file.bytes(at: 0, count: 8)
        guard header[0] == header[1], header[0] == 0x49 || header[0] == 0x4D else {
            throw MediaError(.thumbnail, .corrupt("RAW file without a TIFF header"))
        }
        var walker = TIFFPreviews(file: file, littleEndian: header[0] == 0x49)
        try walker.walk(from: walker.integer(header, at: 4, size: 4))
        return (walker.candidates, walker.orientation)
    }

    private init(file: MediaFile, littleEndian: Bool) {
        self.file = file
        self.littleEndian = littleEndian
    }

    private mutating func walk(from firstDirectory: Int) throws(MediaError) {
        var pending = [firstDirectory], visited: Set<Int> = [], isFirst = true
        while let offset = pending.popLast(), visited.count < Self.maxDirectories {
            guard offset > 0, UInt64(offset) < file.size, visited.insert(offset).inserted else { continue }
            let count = integer(try file.bytes(at: offset, count: 2), at: 0, size: 2)
            let entries = try file.bytes(at: offset + 2, count: min(count * 12 + 4, Int(file.size) - offset - 2))
            var tags: [Int: [Int]] = [:]
            for index in 0..<min(count, entries.count / 12) {
                let entry = index * 12
                tags[integer(entries, at: entry, size: 2)] = try values(of: entries, entry: entry)
            }
            if entries.count >= count * 12 + 4 { pending.append(integer(entries, at: count * 12, size: 4)) }
            pending += tags[0x14A] ?? []  // SubIFDs
            if isFirst { orientation = tags[0x112]?.first }
            isFirst = false
            // JPEGInterchangeFormat/Length (JpgFromRaw, PreviewImage, ThumbnailImage); RW2 stores JpgFromRaw as tag 0x2E.
            if let start = tags[0x201]?.first, let length = tags[0x202]?.first { candidates.append(.init(offset: start, length: length)) }
            if let raw = tags[0x2E], raw.count == 2 { candidates.append(.init(offset: raw[0], length: raw[1])) }
            // A JPEG-compressed image stored as one strip (CR2's and DNG's previews).
            if let compression = tags[0x103]?.first, compression == 6 || compression == 7,
               let strips = tags[0x111], strips.count == 1, let lengths = tags[0x117], lengths.count == 1 {
                candidates.append(.init(offset: strips[0], length: lengths[0]))
            }
        }
    }

    /// An entry's numeric values (BYTE, SHORT, LONG, IFD); for UNDEFINED data, its offset and length.
    private func values(of entries: [UInt8], entry: Int) throws(MediaError) -> [Int] {
        let type = integer(entries, at: entry + 2, size: 2), count = integer(entries, at: entry + 4, size: 4)
        let size: Int
        switch type {
        case 1: size = 1
        case 3: size = 2
        case 4, 13: size = 4
        case 7: return count <= 4 ? [] : [integer(entries, at: entry + 8, size: 4), count]
        default: return []
        }
        guard count > 0, count <= 256 else { return [] }
        let data = count * size <= 4
            ? Array(entries[entry + 8..<entry + 12])
            : try file.bytes(at: integer(entries, at: entry + 8, size: 4), count: count * size)
        return (0..<count).map { integer(data, at: $0 * size, size: size) }
    }

    /// A 1, 2 or 4-byte unsigned integer in the file's byte order; 0 past the end of `bytes`.
    private func integer(_ bytes: [UInt8], at offset: Int, size: Int) -> Int {
        let view = ByteView(bytes)
        return switch size {
        case 1: Int(view[offset])
        case 2: view.uint16(offset, littleEndian: littleEndian).map(Int.init) ?? 0
        default: view.uint32(offset, littleEndian: littleEndian).map(Int.init) ?? 0
        }
    }
}
