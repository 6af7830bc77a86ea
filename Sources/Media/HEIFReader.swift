/// What the metadata stage needs from a HEIF/HEIC/AVIF file's `meta` box, parsed by hand: libheif 1.15
/// refuses some real files (iPhone 15 Pro: "Metadata not correctly assigned to image").
struct HEIFSummary {
    /// Stored size of the primary item (`ispe`).
    var width: Int?
    var height: Int?
    /// Counter-clockwise rotation of the primary item (`irot`), 0/90/180/270. In HEIF the transform
    /// properties decide the display size, not the EXIF orientation.
    var rotation = 0
    /// The Exif item's payload (TIFF data, after its header-offset prefix).
    var exif: [UInt8]?
    /// The XMP item (`mime` item of type application/rdf+xml), which Google's HEIC motion photos use.
    var xmp: String?
    /// Samsung's motion photo: the `mpvd` box's payload, when it holds a video.
    var embeddedVideo: (offset: UInt64, length: UInt64)?
}

enum HEIFReader {
    private static let maximumMetaSize: UInt64 = 16 << 20
    private static let maximumExifSize: UInt64 = 4 << 20

    static func read(_ file: MediaFile) throws(MediaError) -> HEIFSummary {
        let boxes = ISOBMFF.topLevelBoxes(of: file)
        var summary = HEIFSummary()
        if let mpvd = boxes.first(where: { $0.type == "mpvd" }), mpvd.end <= file.size,
           ISOBMFF.hasFileType(file, at: mpvd.payloadOffset) {
            summary.embeddedVideo = (mpvd.payloadOffset, mpvd.payloadLength)
        }
        guard let meta = boxes.first(where: { $0.type == "meta" }) else {
            throw MediaError(.metadata, .corrupt("HEIF file has no meta box"))
        }
        guard meta.size <= maximumMetaSize else {
            throw MediaError(.metadata, .corrupt("HEIF meta box of \(meta.size) bytes is implausibly large"))
        }
        guard meta.end <= file.size else { throw MediaError(.metadata, .corrupt("HEIF meta box is cut short")) }
        let view = file.view(at: meta.payloadOffset, count: Int(meta.payloadLength))
        let parsed = MetaBox(view, payloadFileOffset: meta.payloadOffset)
        guard let primary = parsed.primaryItem else {
            throw MediaError(.metadata, .corrupt("HEIF meta box names no primary item"))
        }
        for index in parsed.associations[primary] ?? [] {
            guard index >= 1, index <= parsed.properties.count else { continue }
            let property = parsed.properties[index - 1]
            let at = Int(property.offset - meta.payloadOffset) + property.headerLength
            switch property.type {
            case "ispe":
                if let width = view.uint32BE(at + 4), let height = view.uint32BE(at + 8), width > 0, height > 0 {
                    summary.width = Int(width)
                    summary.height = Int(height)
                }
            case "irot":
                summary.rotation = Int(view[at] & 3) * 90
            default:
                break
            }
        }
        if let exifItem = parsed.itemTypes.first(where: { $0.value == "Exif" })?.key,
           let location = parsed.locations[exifItem],
           let bytes = location.read(from: file, idatOffset: parsed.idatOffset, limit: maximumExifSize) {
            let payload = ByteView(bytes)
            // The payload starts with the offset of the TIFF header from the end of this 4-byte field.
            if let skip = payload.uint32BE(0), UInt64(skip) + 4 < UInt64(bytes.count) {
                summary.exif = Array(bytes[(4 + Int(skip))...])
            } else {
                summary.exif = bytes
            }
        }
        if let xmpItem = parsed.xmpItems.first, let location = parsed.locations[xmpItem],
           let bytes = location.read(from: file, idatOffset: parsed.idatOffset, limit: maximumExifSize) {
            summary.xmp = String(decoding: bytes, as: UTF8.self)
        }
        return summary
    }
}

/// Where an item's bytes are (`iloc`): extents in the file or in the `idat` box.
private struct ItemLocation {
    var constructionMethod: Int
    var baseOffset: UInt64
    var extents: [(offset: UInt64, length: UInt64)]

    func read(from file: MediaFile, idatOffset: UInt64?, limit: UInt64) -> [UInt8]? {
        let base: UInt64
        switch constructionMethod {
        case 0: base = baseOffset
        case 1:
            guard let idatOffset else { return nil }
            base = idatOffset &+ baseOffset
        default: return nil
        }
        var bytes: [UInt8] = []
        for extent in extents {
            let (start, overflow) = base.addingReportingOverflow(extent.offset)
            guard !overflow, start < file.size else { return nil }
            let length = extent.length == 0 ? file.size - start : extent.length
            guard length <= limit - UInt64(bytes.count) else { return nil }
            let chunk = file.read(at: start, count: Int(length))
            guard UInt64(chunk.count) == length else { return nil }
            bytes += chunk
        }
        return bytes.isEmpty ? nil : bytes
    }
}

/// The parts of a HEIF `meta` box the metadata stage uses. Damaged sub-boxes are skipped, never trusted.
private struct MetaBox {
    var primaryItem: UInt32?
    var itemTypes: [UInt32: String] = [:]
    var xmpItems: [UInt32] = []
    var locations: [UInt32: ItemLocation] = [:]
    var properties: [BoxHeader] = []
    var associations: [UInt32: [Int]] = [:]
    var idatOffset: UInt64?

    /// `view` holds the meta box's payload (a FullBox: version and flags come first).
    init(_ view: ByteView, payloadFileOffset: UInt64) {
        for box in ISOBMFF.children(view, from: 4, to: view.count) {
            let start = Int(box.offset) + box.headerLength, end = Int(box.end)
            switch box.type {
            case "pitm":
                primaryItem = view[start] == 0 ? view.uint16BE(start + 4).map(UInt32.init) : view.uint32BE(start + 4)
            case "iinf": parseItemInfo(view, start, end)
            case "iloc": parseLocations(view, start, end)
            case "idat": idatOffset = payloadFileOffset + UInt64(start)
            case "iprp":
                for child in ISOBMFF.children(view, from: start, to: end) {
                    let childStart = Int(child.offset) + child.headerLength
                    if child.type == "ipco" {
                        properties = ISOBMFF.children(view, from: childStart, to: Int(child.end))
                            .map { BoxHeader(type: $0.type, offset: $0.offset + payloadFileOffset,
                                             headerLength: $0.headerLength, size: $0.size) }
                    } else if child.type == "ipma" {
                        parseAssociations(view, childStart, Int(child.end))
                    }
                }
            default: break
            }
        }
    }

    private mutating func parseItemInfo(_ view: ByteView, _ start: Int, _ end: Int) {
        let version = view[start]
        let first = start + (version == 0 ? 6 : 8)
        for infe in ISOBMFF.children(view, from: first, to: end) where infe.type == "infe" {
            let at = Int(infe.offset) + infe.headerLength
            let infeVersion = view[at]
            guard infeVersion >= 2 else { continue }
            let id = infeVersion == 2 ? view.uint16BE(at + 4).map(UInt32.init) : view.uint32BE(at + 4)
            let typeOffset = at + (infeVersion == 2 ? 8 : 10)
            guard let id, let type = ISOBMFF.fourCC(view, typeOffset) else { continue }
            itemTypes[id] = type
            if type == "mime", let (_, afterName) = view.cString(typeOffset + 4),
               let (contentType, _) = view.cString(afterName), contentType == "application/rdf+xml" {
                xmpItems.append(id)
            }
        }
    }

    private mutating func parseLocations(_ view: ByteView, _ start: Int, _ end: Int) {
        let version = Int(view[start])
        guard version <= 2 else { return }
        let offsetSize = Int(view[start + 4] >> 4), lengthSize = Int(view[start + 4] & 0xF)
        let baseOffsetSize = Int(view[start + 5] >> 4)
        let indexSize = version >= 1 ? Int(view[start + 5] & 0xF) : 0
        var at = start + 6
        let count: Int
        if version < 2 {
            guard let value = view.uint16BE(at) else { return }
            count = Int(value); at += 2
        } else {
            guard let value = view.uint32BE(at) else { return }
            count = Int(value); at += 4
        }
        for _ in 0..<count {
            guard at < end else { return }
            let id: UInt32
            if version < 2 {
                guard let value = view.uint16BE(at) else { return }
                id = UInt32(value); at += 2
            } else {
                guard let value = view.uint32BE(at) else { return }
                id = value; at += 4
            }
            var method = 0
            if version >= 1 {
                guard let value = view.uint16BE(at) else { return }
                method = Int(value & 0xF); at += 2
            }
            at += 2  // data_reference_index
            guard let base = view.uintBE(at, size: baseOffsetSize), let extentCount = view.uint16BE(at + baseOffsetSize)
            else { return }
            at += baseOffsetSize + 2
            var extents: [(UInt64, UInt64)] = []
            for _ in 0..<Int(extentCount) {
                at += indexSize
                guard let offset = view.uintBE(at, size: offsetSize),
                      let length = view.uintBE(at + offsetSize, size: lengthSize) else { return }
                at += offsetSize + lengthSize
                extents.append((offset, length))
            }
            locations[id] = ItemLocation(constructionMethod: method, baseOffset: base, extents: extents)
        }
    }

    private mutating func parseAssociations(_ view: ByteView, _ start: Int, _ end: Int) {
        let version = view[start]
        let wideIndices = view[start + 3] & 1 == 1
        guard let count = view.uint32BE(start + 4) else { return }
        var at = start + 8
        for _ in 0..<Int(count) {
            guard at < end else { return }
            let id: UInt32
            if version < 1 {
                guard let value = view.uint16BE(at) else { return }
                id = UInt32(value); at += 2
            } else {
                guard let value = view.uint32BE(at) else { return }
                id = value; at += 4
            }
            guard let associationCount = view.uint8(at) else { return }
            at += 1
            var indices: [Int] = []
            for _ in 0..<Int(associationCount) {
                if wideIndices {
                    guard let value = view.uint16BE(at) else { return }
                    indices.append(Int(value & 0x7FFF)); at += 2
                } else {
                    guard let value = view.uint8(at) else { return }
                    indices.append(Int(value & 0x7F)); at += 1
                }
            }
            associations[id, default: []] += indices
        }
    }
}
