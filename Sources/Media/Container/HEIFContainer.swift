import MediaTypes

/// The item structure of a HEIF/HEIC/AVIF file's `meta` box (ISO/IEC 23008-12), parsed by hand: libheif 1.15
/// refuses some valid files (iPhone 15 Pro: "Metadata not correctly assigned to image"). The metadata stage
/// reads the Exif/XMP items and the primary item's size and rotation from it, the thumbnail stage the HEVC
/// tiles. Damaged sub-boxes are skipped, never trusted: what survives is used.
struct HEIFContainer {
    /// Where part of an item lies: an offset into the file (construction method 0) or into `idat` (1).
    struct Extent {
        var offset: UInt64
        /// 0: to the end of the file (or of `idat`).
        var length: UInt64
    }

    struct Item {
        var type = ""
        /// A `mime` item's content type (XMP: application/rdf+xml).
        var contentType: String?
        var constructionMethod = 0
        var extents: [Extent] = []
        /// 1-based indices into `properties`, in association order (which is the order transforms apply in).
        var propertyIndices: [Int] = []
    }

    enum Property {
        case hevcConfiguration([UInt8])
        /// `ispe`: the stored size, before transforms.
        case size(width: Int, height: Int)
        /// `irot`: anticlockwise quarter turns.
        case rotation(Int)
        /// `imir`; `horizontally`: about a vertical axis (left and right swap).
        case mirror(horizontally: Bool)
        case colorProfile([UInt8])
        case colorNCLX(primaries: Int, transfer: Int, matrix: Int, fullRange: Bool)
        case other(String)
    }

    /// Where an item's bytes are, resolved and checked against the file and `idat`.
    enum Source {
        case file(offset: Int, count: Int)
        case itemData(Range<Int>)

        var count: Int {
            switch self {
            case .file(_, let count): count
            case .itemData(let range): range.count
            }
        }
    }

    /// The `meta` box is read whole (it holds no pixels); the pixels stay in the file until decoded.
    static let maximumMetaSize: UInt64 = 16 << 20

    var primaryItemID: UInt32?
    var items: [UInt32: Item] = [:]
    /// Item IDs in `iinf` order.
    var itemOrder: [UInt32] = []
    var properties: [Property] = []
    /// `dimg` references: a derived image's source items, in order.
    var derivedFrom: [UInt32: [UInt32]] = [:]
    /// The `idat` box's payload.
    var itemData: [UInt8] = []

    /// Parses the first top-level `meta` box; throws, with the file's stage, when there is none or it is
    /// implausibly large or cut short.
    init(file: MediaFile) throws(MediaError) {
        guard let meta = ISOBMFF.topLevelBoxes(of: file).first(where: { $0.type == "meta" }) else {
            throw MediaError(file.stage, .corrupt("HEIF file has no meta box"))
        }
        guard meta.size <= Self.maximumMetaSize else {
            throw MediaError(file.stage, .corrupt("HEIF meta box of \(meta.size) bytes is implausibly large"))
        }
        guard meta.end <= file.size else { throw MediaError(file.stage, .corrupt("HEIF meta box is cut short")) }
        parseMeta(file.view(at: meta.payloadOffset, count: Int(meta.payloadLength)))
    }

    func properties(of id: UInt32) -> [Property] {
        (items[id]?.propertyIndices ?? []).compactMap { $0 >= 1 && $0 <= properties.count ? properties[$0 - 1] : nil }
    }

    /// The first item of `type`, in `iinf` order.
    func firstItem(ofType type: String) -> UInt32? { itemOrder.first { items[$0]?.type == type } }

    /// Where item `id`'s bytes are, extent by extent; nil when it has none, or any lies outside the file
    /// (`fileSize` bytes) or `idat`, or together they are larger than that, or its construction method is
    /// not 0 or 1. Every sum is checked, so the extents' counts add up without wrapping.
    func sources(of id: UInt32, fileSize: UInt64) -> [Source]? {
        guard let item = items[id], !item.extents.isEmpty else { return nil }
        var sources: [Source] = []
        var total: UInt64 = 0
        for extent in item.extents {
            let available: UInt64
            switch item.constructionMethod {
            case 0: available = fileSize
            case 1: available = UInt64(itemData.count)
            default: return nil
            }
            guard extent.offset < available else { return nil }
            let length = extent.length == 0 ? available - extent.offset : extent.length
            guard length <= available - extent.offset else { return nil }
            let (sum, overflow) = total.addingReportingOverflow(length)
            guard !overflow, sum <= available else { return nil }
            total = sum
            let (offset, count) = (Int(extent.offset), Int(length))
            sources.append(item.constructionMethod == 0 ? .file(offset: offset, count: count) : .itemData(offset..<offset + count))
        }
        return sources
    }

    /// The bytes of item `id`, its extents concatenated; nil when they are not all there, or more than `limit`.
    func bytes(of id: UInt32, in file: MediaFile, limit: Int) -> [UInt8]? {
        guard let sources = sources(of: id, fileSize: file.size),
              sources.reduce(0, { $0 + $1.count }) <= limit else { return nil }
        var bytes: [UInt8] = []
        for source in sources {
            switch source {
            case .file(let offset, let count):
                let chunk = file.read(at: UInt64(offset), count: count)
                guard chunk.count == count else { return nil }
                bytes += chunk
            case .itemData(let range):
                bytes += itemData[range]
            }
        }
        return bytes.isEmpty ? nil : bytes
    }

    // MARK: Parsing

    /// `view` holds the meta box's payload (a FullBox: version and flags come first).
    private mutating func parseMeta(_ view: ByteView) {
        for box in ISOBMFF.children(view, from: 4, to: view.count) {
            let body = view.payload(of: box)
            switch box.type {
            case "pitm": primaryItemID = body[0] == 0 ? body.uint16BE(4).map(UInt32.init) : body.uint32BE(4)
            case "iinf": parseItemInfo(body)
            case "iloc": parseLocations(body)
            case "iprp": parseProperties(body)
            case "iref": parseReferences(body)
            case "idat": itemData = body.bytes
            default: break
            }
        }
    }

    private mutating func parseItemInfo(_ view: ByteView) {
        let first = view[0] == 0 ? 6 : 8
        for infe in ISOBMFF.children(view, from: first, to: view.count) where infe.type == "infe" {
            let entry = view.payload(of: infe)
            let version = entry[0]
            guard version >= 2 else { continue }
            let id = version == 2 ? entry.uint16BE(4).map(UInt32.init) : entry.uint32BE(4)
            let typeOffset = version == 2 ? 8 : 10  // after the protection index
            guard let id, let type = ISOBMFF.fourCC(entry, typeOffset) else { continue }
            if items[id]?.type.isEmpty ?? true { itemOrder.append(id) }
            items[id, default: Item()].type = type
            if type == "mime", let (_, afterName) = entry.cString(typeOffset + 4),
               let (contentType, _) = entry.cString(afterName) {
                items[id]?.contentType = contentType
            }
        }
    }

    private mutating func parseLocations(_ view: ByteView) {
        let version = Int(view[0])
        guard version <= 2 else { return }
        let offsetSize = Int(view[4] >> 4), lengthSize = Int(view[4] & 0xF)
        let baseOffsetSize = Int(view[5] >> 4)
        let indexSize = version >= 1 ? Int(view[5] & 0xF) : 0
        let idSize = version < 2 ? 2 : 4
        guard let count = view.uintBE(6, size: idSize) else { return }
        var at = 6 + idSize
        for _ in 0..<count {
            guard at < view.count, let id = view.uintBE(at, size: idSize).map(UInt32.init) else { return }
            at += idSize
            var method = 0
            if version >= 1 {
                guard let value = view.uint16BE(at) else { return }
                method = Int(value & 0xF); at += 2
            }
            at += 2  // data_reference_index
            guard let base = view.uintBE(at, size: baseOffsetSize), let extentCount = view.uint16BE(at + baseOffsetSize)
            else { return }
            at += baseOffsetSize + 2
            var extents: [Extent] = []
            for _ in 0..<Int(extentCount) {
                at += indexSize
                guard let offset = view.uintBE(at, size: offsetSize),
                      let length = view.uintBE(at + offsetSize, size: lengthSize) else { return }
                at += offsetSize + lengthSize
                let (start, overflow) = base.addingReportingOverflow(offset)
                extents.append(Extent(offset: overflow ? .max : start, length: length))
            }
            items[id, default: Item()].constructionMethod = method
            items[id, default: Item()].extents = extents
        }
    }

    private mutating func parseProperties(_ view: ByteView) {
        for child in ISOBMFF.children(view, from: 0, to: view.count) {
            let body = view.payload(of: child)
            if child.type == "ipco" {
                properties = ISOBMFF.children(body, from: 0, to: body.count).map { Self.property($0.type, body.payload(of: $0)) }
            } else if child.type == "ipma" {
                parseAssociations(body)
            }
        }
    }

    private static func property(_ type: String, _ body: ByteView) -> Property {
        switch type {
        case "hvcC":
            return .hevcConfiguration(body.bytes)
        case "ispe":
            guard let width = body.uint32BE(4), let height = body.uint32BE(8) else { break }
            return .size(width: Int(width), height: Int(height))
        case "irot":
            guard let angle = body.uint8(0) else { break }
            return .rotation(Int(angle & 3))
        case "imir":
            guard let axis = body.uint8(0) else { break }
            return .mirror(horizontally: axis & 1 == 0)
        case "colr":
            guard let kind = ISOBMFF.fourCC(body, 0) else { break }
            if kind == "nclx" {
                guard let primaries = body.uint16BE(4), let transfer = body.uint16BE(6), let matrix = body.uint16BE(8),
                      let range = body.uint8(10) else { break }
                return .colorNCLX(primaries: Int(primaries), transfer: Int(transfer), matrix: Int(matrix),
                                  fullRange: range & 0x80 != 0)
            }
            guard kind == "prof" || kind == "rICC" else { return .other("colr \(kind)") }
            return .colorProfile(Array(body.bytes.dropFirst(4)))
        default:
            break
        }
        return .other(type)
    }

    private mutating func parseAssociations(_ view: ByteView) {
        let idSize = view[0] < 1 ? 2 : 4
        let wideIndices = view[3] & 1 == 1
        guard let count = view.uint32BE(4) else { return }
        var at = 8
        for _ in 0..<count {
            guard at < view.count, let id = view.uintBE(at, size: idSize).map(UInt32.init),
                  let associationCount = view.uint8(at + idSize) else { return }
            at += idSize + 1
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
            items[id, default: Item()].propertyIndices += indices
        }
    }

    private mutating func parseReferences(_ view: ByteView) {
        let idSize = view[0] == 0 ? 2 : 4
        for reference in ISOBMFF.children(view, from: 4, to: view.count) where reference.type == "dimg" {
            let entry = view.payload(of: reference)
            guard let from = entry.uintBE(0, size: idSize), let count = entry.uint16BE(idSize) else { continue }
            let targets = (0..<Int(count)).map { entry.uintBE(idSize + 2 + $0 * idSize, size: idSize) }
            guard targets.allSatisfy({ $0 != nil }) else { continue }
            derivedFrom[UInt32(from)] = targets.map { UInt32($0!) }
        }
    }
}
