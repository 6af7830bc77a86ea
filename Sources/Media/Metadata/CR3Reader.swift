/// Canon CR3: ISO-BMFF whose `moov` holds Canon's `uuid` box, in which CMT1 (IFD0), CMT2 (EXIF IFD) and
/// CMT4 (GPS IFD) are each a small TIFF structure.
enum CR3Reader {
    private static let canonUUID: [UInt8] = [0x85, 0xC0, 0xB6, 0x87, 0x82, 0x0F, 0x11, 0xE0,
                                             0x81, 0x11, 0xF4, 0xCE, 0x46, 0x2B, 0x6A, 0x48]
    private static let maximumBoxSize: UInt64 = 4 << 20

    static func read(_ file: MediaFile) throws(MediaError) -> ExifFields? {
        guard let moov = ISOBMFF.topLevelBoxes(of: file).first(where: { $0.type == "moov" }), moov.end <= file.size else {
            throw MediaError(.metadata, .corrupt("CR3 file has no complete moov box"))
        }
        for child in ISOBMFF.topLevelBoxes(of: file, from: moov.payloadOffset, end: moov.end, limit: 64)
        where child.type == "uuid" && child.size <= maximumBoxSize && child.end <= moov.end {
            let view = file.view(at: child.payloadOffset, count: Int(child.payloadLength))
            guard view.starts(with: canonUUID) else { continue }
            var fields: ExifFields?
            for box in ISOBMFF.children(view, from: 16, to: view.count) {
                let layout: ExifBlock.Layout
                switch box.type {
                case "CMT1": layout = .standard
                case "CMT2": layout = .exifIFDOnly
                case "CMT4": layout = .gpsIFDOnly
                default: continue
                }
                let start = Int(box.offset) + box.headerLength
                guard let tiff = view.slice(start, Int(box.end) - start),
                      let parsed = ExifBlock.parse(tiff, layout: layout) else { continue }
                fields = fields.map { $0.filled(from: parsed) } ?? parsed
            }
            return fields
        }
        return nil
    }
}
