import MediaTypes

/// One ISO base media box (MP4, MOV, HEIF): where it starts and how long it says it is.
struct BoxHeader: Equatable {
    let type: String
    let offset: UInt64
    let headerLength: Int
    /// The whole box, header included, as declared; may run past the end of a truncated file.
    let size: UInt64

    var payloadOffset: UInt64 { offset + UInt64(headerLength) }
    var payloadLength: UInt64 { size - UInt64(headerLength) }
    /// Saturates rather than overflows: a damaged 64-bit size must not trap.
    var end: UInt64 {
        let (sum, overflow) = offset.addingReportingOverflow(size)
        return overflow ? .max : sum
    }
}

/// Walks ISO-BMFF boxes by their headers, bounds-checked against the space they sit in.
enum ISOBMFF {
    /// Parses the header at `view[at]`; `available` is how many bytes the enclosing space has from `at` on
    /// (a size of 0 means "to the end" of it).
    static func header(_ view: ByteView, at offset: Int, base: UInt64 = 0, available: UInt64) -> BoxHeader? {
        guard let size32 = view.uint32BE(offset), let type = fourCC(view, offset + 4) else { return nil }
        var size = UInt64(size32), headerLength = 8
        if size32 == 1 {
            guard let large = view.uint64BE(offset + 8) else { return nil }
            size = large
            headerLength = 16
        } else if size32 == 0 {
            size = available
        }
        guard size >= UInt64(headerLength) else { return nil }
        return BoxHeader(type: type, offset: base + UInt64(offset), headerLength: headerLength, size: size)
    }

    /// The top-level boxes of a file, one small read per box. Stops at the first damaged header or after
    /// `limit` boxes; the last box may be cut short by the end of the file.
    static func topLevelBoxes(of file: MediaFile, from start: UInt64 = 0, end: UInt64? = nil, limit: Int = 4096) -> [BoxHeader] {
        let end = min(end ?? file.size, file.size)
        var boxes: [BoxHeader] = []
        var offset = start
        while offset + 8 <= end, boxes.count < limit {
            let view = file.view(at: offset, count: 16)
            guard let box = header(view, at: 0, base: offset, available: end - offset) else { break }
            boxes.append(box)
            guard box.size <= end - offset else { break }
            offset = box.end
        }
        return boxes
    }

    /// The child boxes inside `view[from..<to]`.
    static func children(_ view: ByteView, from start: Int, to end: Int) -> [BoxHeader] {
        var boxes: [BoxHeader] = []
        var offset = start
        let end = min(end, view.count)
        while offset + 8 <= end {
            guard let box = header(view, at: offset, available: UInt64(end - offset)),
                  box.size <= UInt64(end - offset) else { break }
            boxes.append(box)
            offset += Int(box.size)
        }
        return boxes
    }

    static func fourCC(_ view: ByteView, _ offset: Int) -> String? {
        guard let bytes = view.slice(offset, 4), bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// True when a plausible `ftyp` box starts at `offset`: how an embedded video is recognised.
    static func hasFileType(_ file: MediaFile, at offset: UInt64) -> Bool {
        let view = file.view(at: offset, count: 12)
        guard view.ascii(4, 4) == "ftyp", let size = view.uint32BE(0) else { return false }
        return size >= 12 && size <= 1024
    }

    /// How many bytes from `offset` a run of well-formed top-level boxes covers (an embedded MP4's length),
    /// up to `limit`.
    static func extentOfBoxes(in file: MediaFile, from offset: UInt64, limit: UInt64) -> UInt64 {
        let boxes = topLevelBoxes(of: file, from: offset, end: limit, limit: 64)
        let known: Set<String> = ["ftyp", "mdat", "moov", "free", "skip", "wide", "uuid", "meta", "udta", "moof", "mfra", "sidx", "pnot"]
        var end = offset
        for box in boxes {
            guard known.contains(box.type), box.end <= limit else { break }
            end = box.end
        }
        return end - offset
    }
}

extension ByteView {
    /// The payload of `box`, a child found in this view, on its own: reads past its end answer nil.
    func payload(of box: BoxHeader) -> ByteView {
        let start = Int(clamping: box.payloadOffset)
        return ByteView(slice(start, Int(clamping: box.end) - start) ?? [])
    }
}
