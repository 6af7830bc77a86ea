import MediaTypes

/// What the metadata stage needs from a HEIF/HEIC/AVIF file's item structure (`HEIFContainer`).
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
    private static let maximumItemSize = 4 << 20

    static func read(_ file: MediaFile) throws(MediaError) -> HEIFSummary {
        let container = try HEIFContainer(file: file)
        guard let primary = container.primaryItemID else {
            throw MediaError(.metadata, .corrupt("HEIF meta box names no primary item"))
        }
        var summary = HEIFSummary()
        if let mpvd = ISOBMFF.topLevelBoxes(of: file).first(where: { $0.type == "mpvd" }), mpvd.end <= file.size,
           ISOBMFF.hasFileType(file, at: mpvd.payloadOffset) {
            summary.embeddedVideo = (mpvd.payloadOffset, mpvd.payloadLength)
        }
        for property in container.properties(of: primary) {
            switch property {
            case .size(let width, let height) where width > 0 && height > 0:
                summary.width = width
                summary.height = height
            case .rotation(let quarterTurns):
                summary.rotation = quarterTurns * 90
            default:
                break
            }
        }
        if let exifItem = container.firstItem(ofType: "Exif"),
           let bytes = container.bytes(of: exifItem, in: file, limit: maximumItemSize) {
            let payload = ByteView(bytes)
            // The payload starts with the offset of the TIFF header from the end of this 4-byte field.
            if let skip = payload.uint32BE(0), UInt64(skip) + 4 < UInt64(bytes.count) {
                summary.exif = Array(bytes[(4 + Int(skip))...])
            } else {
                summary.exif = bytes
            }
        }
        let xmpItem = container.itemOrder.first { container.items[$0]?.contentType == "application/rdf+xml" }
        if let xmpItem, let bytes = container.bytes(of: xmpItem, in: file, limit: maximumItemSize) {
            summary.xmp = String(decoding: bytes, as: UTF8.self)
        }
        return summary
    }
}
