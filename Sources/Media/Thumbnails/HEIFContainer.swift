/// The item structure of a HEIF file's `meta` box (ISO/IEC 23008-12), parsed without libheif, which
/// refuses some valid files (e.g. iPhone 15 Pro HEICs: "Metadata not correctly assigned to image").
struct HEIFContainer {
    struct Extent { var offset: Int; var length: Int }

    struct Item {
        var type: String
        /// 0: file offsets, 1: offsets into `idat`.
        var constructionMethod = 0
        var extents: [Extent] = []
        /// 1-based indices into `properties`, in association order (which is the order transforms apply in).
        var propertyIndices: [Int] = []
    }

    enum Property {
        case hevcConfiguration([UInt8])
        case size(width: Int, height: Int)
        /// Anticlockwise quarter turns.
        case rotation(Int)
        /// `horizontally`: about a vertical axis (left and right swap).
        case mirror(horizontally: Bool)
        case colorProfile([UInt8])
        case colorNCLX(primaries: Int, transfer: Int, matrix: Int, fullRange: Bool)
        case other(String)
    }

    var primaryItemID: UInt32 = 0
    var items: [UInt32: Item] = [:]
    var properties: [Property] = []
    /// `dimg` references: a derived image's source items, in order.
    var derivedFrom: [UInt32: [UInt32]] = [:]
    var itemData: [UInt8] = []

    /// The `meta` box is read whole (it holds no pixels); the pixels stay in the file until decoded.
    static let maxMetaSize = 16 << 20

    init(file: ImageFile) throws(MediaError) {
        var offset = 0
        while offset + 8 <= file.size {
            let header = try BoxHeader(file.bytes(at: offset, count: min(16, file.size - offset)), fileRemaining: file.size - offset)
            if header.type == "meta" {
                guard header.size <= Self.maxMetaSize else { throw Self.corrupt("meta box of \(header.size) bytes") }
                try parseMeta(BoxReader(file.bytes(at: offset + header.headerSize, count: header.size - header.headerSize)))
                return
            }
            offset += header.size
        }
        throw Self.corrupt("no meta box")
    }

    func properties(of id: UInt32) -> [Property] {
        (items[id]?.propertyIndices ?? []).compactMap { $0 >= 1 && $0 <= properties.count ? properties[$0 - 1] : nil }
    }

    /// The bytes of item `id` (its extents concatenated), read from `file` or `idat`.
    func data(of id: UInt32, in file: ImageFile) throws(MediaError) -> Packet {
        guard let item = items[id], !item.extents.isEmpty else { throw Self.corrupt("item \(id) has no location") }
        // Wrapping sums: the fields come from the file, and a negative or oversized total is refused below.
        let total = item.extents.reduce(0) { $0 &+ $1.length }
        guard total >= 0, total <= max(file.size, itemData.count) else { throw Self.corrupt("item \(id) is larger than the file") }
        if item.constructionMethod == 0, item.extents.count == 1 {
            return try file.read(at: item.extents[0].offset, count: total)
        }
        let packet = try Packet(size: total)
        var written = 0
        for extent in item.extents {
            let bytes: [UInt8]
            switch item.constructionMethod {
            case 0: bytes = try file.bytes(at: extent.offset, count: extent.length)
            case 1:
                guard extent.offset >= 0, extent.length >= 0, extent.offset <= itemData.count - extent.length else {
                    throw Self.corrupt("item \(id) lies outside idat")
                }
                bytes = Array(itemData[extent.offset..<extent.offset + extent.length])
            default: throw MediaError(.thumbnail, .decodeFailed("item \(id) uses construction method \(item.constructionMethod)"))
            }
            UnsafeMutableBufferPointer(rebasing: packet.bytes[written..<written + bytes.count]).update(fromContentsOf: bytes)
            written += bytes.count
        }
        return packet
    }

    static func corrupt(_ why: String) -> MediaError { MediaError(.thumbnail, .corrupt("HEIF: \(why)")) }

    // MARK: Parsing

    private mutating func parseMeta(_ meta: BoxReader) throws(MediaError) {
        var reader = meta
        try reader.skip(4)  // version and flags
        for box in try reader.boxes() {
            var body = box.body
            switch box.type {
            case "pitm":
                let version = try body.fullBoxVersion()
                primaryItemID = version == 0 ? UInt32(try body.u16()) : try body.u32()
            case "iinf": try parseItemInfo(body)
            case "iloc": try parseLocations(body)
            case "iprp": try parseProperties(body)
            case "iref": try parseReferences(body)
            case "idat": itemData = body.remainingBytes
            default: break
            }
        }
        guard items[primaryItemID] != nil else { throw Self.corrupt("primary item \(primaryItemID) is not described") }
    }

    private mutating func parseItemInfo(_ box: BoxReader) throws(MediaError) {
        var body = box
        let version = try body.fullBoxVersion()
        _ = version == 0 ? Int(try body.u16()) : Int(try body.u32())
        for entry in try body.boxes() where entry.type == "infe" {
            var infe = entry.body
            let entryVersion = try infe.fullBoxVersion()
            guard entryVersion >= 2 else { continue }
            let id = entryVersion == 2 ? UInt32(try infe.u16()) : try infe.u32()
            try infe.skip(2)  // protection index
            items[id, default: Item(type: "")].type = try infe.fourCC()
        }
    }

    private mutating func parseLocations(_ box: BoxReader) throws(MediaError) {
        var body = box
        let version = try body.fullBoxVersion()
        let sizes = try body.u8(), moreSizes = try body.u8()
        let offsetSize = Int(sizes >> 4), lengthSize = Int(sizes & 15)
        let baseOffsetSize = Int(moreSizes >> 4), indexSize = version >= 1 ? Int(moreSizes & 15) : 0
        let count = version < 2 ? Int(try body.u16()) : Int(try body.u32())
        for _ in 0..<count {
            let id = version < 2 ? UInt32(try body.u16()) : try body.u32()
            var item = items[id] ?? Item(type: "")
            if version >= 1 { item.constructionMethod = Int(try body.u16() & 15) }
            try body.skip(2)  // data reference index
            let base = try body.uint(bytes: baseOffsetSize)
            let extentCount = Int(try body.u16())
            item.extents = []
            for _ in 0..<extentCount {
                _ = try body.uint(bytes: indexSize)
                let offset = try body.uint(bytes: offsetSize), length = try body.uint(bytes: lengthSize)
                item.extents.append(Extent(offset: base &+ offset, length: length))
            }
            items[id] = item
        }
    }

    private mutating func parseProperties(_ box: BoxReader) throws(MediaError) {
        var body = box
        for child in try body.boxes() {
            if child.type == "ipco" {
                var container = child.body
                properties = try container.boxes().map(Self.property)
            } else if child.type == "ipma" {
                var ipma = child.body
                let version = try ipma.fullBoxVersion(), flags = ipma.lastFlags
                for _ in 0..<Int(try ipma.u32()) {
                    let id = version < 1 ? UInt32(try ipma.u16()) : try ipma.u32()
                    var indices: [Int] = []
                    for _ in 0..<Int(try ipma.u8()) {
                        indices.append(flags & 1 != 0 ? Int(try ipma.u16() & 0x7FFF) : Int(try ipma.u8() & 0x7F))
                    }
                    items[id, default: Item(type: "")].propertyIndices = indices
                }
            }
        }
    }

    private static func property(_ box: Box) throws(MediaError) -> Property {
        var body = box.body
        switch box.type {
        case "hvcC": return .hevcConfiguration(body.remainingBytes)
        case "ispe":
            _ = try body.fullBoxVersion()
            return .size(width: Int(try body.u32()), height: Int(try body.u32()))
        case "irot": return .rotation(Int(try body.u8() & 3))
        case "imir": return .mirror(horizontally: try body.u8() & 1 == 0)
        case "colr":
            let kind = try body.fourCC()
            if kind == "nclx" {
                return .colorNCLX(primaries: Int(try body.u16()), transfer: Int(try body.u16()),
                                  matrix: Int(try body.u16()), fullRange: try body.u8() & 0x80 != 0)
            }
            return kind == "prof" || kind == "rICC" ? .colorProfile(body.remainingBytes) : .other("colr \(kind)")
        default: return .other(box.type)
        }
    }

    private mutating func parseReferences(_ box: BoxReader) throws(MediaError) {
        var body = box
        let version = try body.fullBoxVersion()
        for reference in try body.boxes() where reference.type == "dimg" {
            var entry = reference.body
            let from = version == 0 ? UInt32(try entry.u16()) : try entry.u32()
            var targets: [UInt32] = []
            for _ in 0..<Int(try entry.u16()) { targets.append(version == 0 ? UInt32(try entry.u16()) : try entry.u32()) }
            derivedFrom[from] = targets
        }
    }
}

/// A box's size and type, from its first 8 (or 16, for 64-bit sizes) bytes.
struct BoxHeader {
    var size: Int
    var type: String
    var headerSize: Int

    init(_ bytes: [UInt8], fileRemaining: Int) throws(MediaError) {
        var reader = BoxReader(bytes)
        let size32 = Int(try reader.u32())
        type = try reader.fourCC()
        switch size32 {
        case 0: size = fileRemaining; headerSize = 8
        case 1: size = try reader.uint(bytes: 8); headerSize = 16
        default: size = size32; headerSize = 8
        }
        guard size >= headerSize, size <= fileRemaining else {
            throw HEIFContainer.corrupt("box '\(type)' of \(size) bytes does not fit in the \(fileRemaining) left")
        }
    }
}

struct Box {
    var type: String
    var body: BoxReader
}

/// Bounds-checked big-endian reads through a box's bytes.
struct BoxReader {
    private let bytes: [UInt8]
    private var position: Int
    private let end: Int
    private(set) var lastFlags: UInt32 = 0

    init(_ bytes: [UInt8]) { self.init(bytes, from: 0, to: bytes.count) }
    private init(_ bytes: [UInt8], from start: Int, to end: Int) {
        self.bytes = bytes
        position = start
        self.end = end
    }

    var remainingBytes: [UInt8] { Array(bytes[position..<end]) }

    mutating func skip(_ count: Int) throws(MediaError) {
        guard count <= end - position else { throw HEIFContainer.corrupt("box ends early") }
        position += count
    }

    mutating func uint(bytes count: Int) throws(MediaError) -> Int {
        guard count <= end - position else { throw HEIFContainer.corrupt("box ends early") }
        var value = 0
        for index in 0..<count { value = value << 8 | Int(bytes[position + index]) }
        position += count
        return value
    }

    mutating func u8() throws(MediaError) -> UInt8 { UInt8(try uint(bytes: 1)) }
    mutating func u16() throws(MediaError) -> UInt16 { UInt16(try uint(bytes: 2)) }
    mutating func u32() throws(MediaError) -> UInt32 { UInt32(try uint(bytes: 4)) }

    mutating func fourCC() throws(MediaError) -> String {
        let value = try uint(bytes: 4)
        return String(decoding: (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) }, as: UTF8.self)
    }

    /// Reads a full box's version, keeping its flags in `lastFlags`.
    mutating func fullBoxVersion() throws(MediaError) -> Int {
        let word = try u32()
        lastFlags = word & 0xFF_FFFF
        return Int(word >> 24)
    }

    /// The child boxes from here to the end.
    mutating func boxes() throws(MediaError) -> [Box] {
        var children: [Box] = []
        while end - position >= 8 {
            let header = try BoxHeader(Array(bytes[position..<min(position + 16, end)]), fileRemaining: end - position)
            children.append(Box(type: header.type,
                                body: BoxReader(bytes, from: position + header.headerSize, to: position + header.size)))
            position += header.size
        }
        return children
    }
}
