import MediaTypes

/// What a still image's container holds for the metadata stage, found by walking its segments, chunks or boxes.
struct ImageContainer {
    /// Stored pixel size, before any orientation is applied.
    var width: Int?
    var height: Int?
    /// The EXIF block (TIFF data, possibly behind "Exif\0\0").
    var exif: [UInt8]?
    var xmp: String?
}

/// Segment and chunk walkers for JPEG, PNG, GIF, WebP, BMP, TIFF-based RAW and RAF. Each read is small and
/// bounds-checked; a damaged structure ends the walk with what was found so far.
enum ImageContainers {
    private static let maximumChunk = 4 << 20
    private static let maximumSteps = 100_000

    static func read(_ file: MediaFile, format: MediaFormat) -> ImageContainer {
        switch format {
        case .jpeg: jpeg(file, at: 0)
        case .png: png(file)
        case .gif: gif(file)
        case .webp: webp(file)
        case .bmp: bmp(file)
        case .raf: raf(file)
        case .tiff, .dng, .cr2, .nef, .arw: tiff(file)
        case .orf, .rw2: tiffWithVendorMagic(file)
        default: ImageContainer()
        }
    }

    // MARK: JPEG

    private static let xmpNamespace = Array("http://ns.adobe.com/xap/1.0/".utf8) + [0]
    private static let exifHeader = Array("Exif".utf8) + [0, 0]

    static func jpeg(_ file: MediaFile, at start: UInt64) -> ImageContainer {
        var result = ImageContainer()
        JPEGSegments.walk(from: start, read: file.view) { segment in
            if segment.marker == 0xE1 {
                let payload = file.read(at: segment.payloadOffset, count: segment.payloadLength)
                if result.exif == nil, payload.starts(with: exifHeader) {
                    result.exif = Array(payload.dropFirst(6))
                } else if result.xmp == nil, payload.starts(with: xmpNamespace) {
                    result.xmp = String(decoding: payload.dropFirst(xmpNamespace.count), as: UTF8.self)
                }
            } else if segment.isFrameHeader, result.width == nil {
                let frame = file.view(at: segment.payloadOffset, count: 5)
                if let height = frame.uint16BE(1), let width = frame.uint16BE(3), width > 0, height > 0 {
                    result.width = Int(width)
                    result.height = Int(height)
                }
            }
            return true
        }
        return result
    }

    // MARK: PNG, GIF, BMP

    private static func png(_ file: MediaFile) -> ImageContainer {
        var result = ImageContainer()
        var offset: UInt64 = 8
        for _ in 0..<maximumSteps {
            let head = file.view(at: offset, count: 16)
            guard let length = head.uint32BE(0), let type = head.ascii(4, 4) else { break }
            let data = offset + 8
            switch type {
            case "IHDR":
                if let width = head.uint32BE(8), let height = head.uint32BE(12), width > 0, height > 0 {
                    result.width = Int(width)
                    result.height = Int(height)
                }
            case "eXIf" where length <= maximumChunk:
                result.exif = file.read(at: data, count: Int(length))
            case "iTXt" where length <= maximumChunk && result.xmp == nil:
                result.xmp = pngXMP(file.read(at: data, count: Int(length)))
            case "IEND":
                return result
            default:
                break
            }
            offset = data + UInt64(length) + 4
        }
        return result
    }

    /// An iTXt chunk's text when it is the uncompressed XMP packet: keyword "XML:com.adobe.xmp", NUL, compression
    /// flag and method, language tag, NUL, translated keyword, NUL, text.
    private static func pngXMP(_ chunk: [UInt8]) -> String? {
        let keyword = Array("XML:com.adobe.xmp".utf8) + [0]
        guard chunk.starts(with: keyword), chunk.count > keyword.count + 2, chunk[keyword.count] == 0 else { return nil }
        let view = ByteView(chunk)
        guard let (_, afterLanguage) = view.cString(keyword.count + 2),
              let (_, textStart) = view.cString(afterLanguage) else { return nil }
        return String(decoding: chunk[textStart...], as: UTF8.self)
    }

    private static func gif(_ file: MediaFile) -> ImageContainer {
        let head = file.view(at: 0, count: 10)
        guard let width = head.uint16(6, littleEndian: true), let height = head.uint16(8, littleEndian: true),
              width > 0, height > 0 else { return ImageContainer() }
        return ImageContainer(width: Int(width), height: Int(height))
    }

    private static func bmp(_ file: MediaFile) -> ImageContainer {
        let head = file.view(at: 0, count: 26)
        guard let headerSize = head.uint32(14, littleEndian: true) else { return ImageContainer() }
        if headerSize == 12 {
            guard let width = head.uint16(18, littleEndian: true), let height = head.uint16(20, littleEndian: true)
            else { return ImageContainer() }
            return ImageContainer(width: Int(width), height: Int(height))
        }
        guard let width = head.uint32(18, littleEndian: true), let height = head.uint32(22, littleEndian: true)
        else { return ImageContainer() }
        // Height is negative for top-down bitmaps.
        return ImageContainer(width: Int(Int32(bitPattern: width).magnitude),
                              height: Int(Int32(bitPattern: height).magnitude))
    }

    // MARK: WebP

    private static func webp(_ file: MediaFile) -> ImageContainer {
        var result = ImageContainer()
        let riffEnd = min(file.size, UInt64(file.view(at: 4, count: 4).uint32(0, littleEndian: true) ?? 0) + 8)
        RIFFChunks.walk(from: 12, to: riffEnd, read: file.view) { chunk in
            let data = chunk.payloadOffset, length = chunk.length
            switch chunk.type {
            case "VP8X":
                let head = file.view(at: data, count: 12)
                if let w = head.uint32(4, littleEndian: true), let h = head.uint32(7, littleEndian: true) {
                    result.width = Int(w & 0xFF_FFFF) + 1
                    result.height = Int(h & 0xFF_FFFF) + 1
                }
            case "VP8 " where result.width == nil:
                let head = file.view(at: data, count: 12)
                if let w = head.uint16(6, littleEndian: true), let h = head.uint16(8, littleEndian: true),
                   head.starts(at: 3, with: [0x9D, 0x01, 0x2A]) {
                    result.width = Int(w & 0x3FFF)
                    result.height = Int(h & 0x3FFF)
                }
            case "VP8L" where result.width == nil:
                let head = file.view(at: data, count: 12)
                if head[0] == 0x2F {
                    let b1 = Int(head[1]), b2 = Int(head[2]), b3 = Int(head[3]), b4 = Int(head[4])
                    result.width = 1 + (((b2 & 0x3F) << 8) | b1)
                    result.height = 1 + (((b4 & 0x0F) << 10) | (b3 << 2) | ((b2 & 0xC0) >> 6))
                }
            case "EXIF" where length <= maximumChunk:
                result.exif = file.read(at: data, count: Int(length))
            case "XMP " where length <= maximumChunk:
                result.xmp = String(decoding: file.read(at: data, count: Int(length)), as: UTF8.self)
            default:
                break
            }
            return true
        }
        return result
    }

    // MARK: TIFF and RAW

    /// libexif looks at the first 64 KiB of an EXIF block at most, which holds IFD0 and the EXIF IFD of
    /// TIFF-based RAW files in practice.
    private static func tiff(_ file: MediaFile) -> ImageContainer {
        var result = ImageContainer()
        result.exif = file.read(at: 0, count: 0xFFF0)
        return result
    }

    /// Olympus ORF ("IIRO"/"MMOR") and Panasonic RW2 ("IIU\0") are TIFF structures under another magic
    /// number; libexif reads them once the standard one is put back.
    private static func tiffWithVendorMagic(_ file: MediaFile) -> ImageContainer {
        var result = tiff(file)
        if var exif = result.exif, exif.count >= 4 {
            let littleEndian = exif[0] == 0x49
            exif.replaceSubrange(2..<4, with: littleEndian ? [0x2A, 0x00] : [0x00, 0x2A])
            result.exif = exif
        }
        return result
    }

    /// Fujifilm RAF: a header pointing to an embedded JPEG preview, whose APP1 carries the EXIF.
    private static func raf(_ file: MediaFile) -> ImageContainer {
        let head = file.view(at: 84, count: 8)
        guard let jpegOffset = head.uint32BE(0), jpegOffset > 0, UInt64(jpegOffset) < file.size else { return ImageContainer() }
        var preview = jpeg(file, at: UInt64(jpegOffset))
        preview.width = nil  // the preview's size, not the sensor's
        preview.height = nil
        return preview
    }
}
