/// What a file's first bytes say it is.
public enum SniffResult: Sendable, Equatable {
    /// A photo or video Keepsake ingests.
    case media(MediaFormat)
    /// Not a photo or video; `mimeType` names what it looks like (e.g. `text/html`), for the user's report.
    case unsupported(mimeType: String)
    /// A zero-byte file.
    case empty
}

/// Recognises a file's format from its leading bytes (magic numbers, ISO-BMFF brands, RIFF forms,
/// TS sync bytes), never from its name.
public enum Sniffer {
    /// How many leading bytes `sniff` wants to see; fewer are fine for short files.
    public static let headerLength = 64 * 1024

    public static func sniff(_ header: some Collection<UInt8>) -> SniffResult {
        let bytes = ByteView(Array(header.prefix(headerLength)))
        if bytes.count == 0 { return .empty }
        if let format = imageFormat(bytes) ?? videoFormat(bytes) { return .media(format) }
        return .unsupported(mimeType: nonMediaType(bytes))
    }

    private static func imageFormat(_ b: ByteView) -> MediaFormat? {
        if b.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if b.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if b.starts(with: Array("GIF87a".utf8)) || b.starts(with: Array("GIF89a".utf8)) { return .gif }
        if b.ascii(0, 4) == "RIFF" && b.ascii(8, 4) == "WEBP" { return .webp }
        if b.ascii(0, 16) == "FUJIFILMCCD-RAW " { return .raf }
        if let tiff = tiffFormat(b) { return tiff }
        if let bmff = isoBMFFFormat(b), bmff.kind == .image { return bmff }
        if isBMP(b) { return .bmp }
        return nil
    }

    private static func videoFormat(_ b: ByteView) -> MediaFormat? {
        if let bmff = isoBMFFFormat(b) { return bmff.kind == .video ? bmff : nil }
        if b.ascii(0, 4) == "RIFF" && b.ascii(8, 4) == "AVI " { return .avi }
        if b.starts(with: [0x1A, 0x45, 0xDF, 0xA3]) {
            return b.firstIndex(of: Array("webm".utf8), below: 64) != nil ? .webm : .matroska
        }
        if hasTSSync(b, offset: 0, stride: 188) { return .mpegTS }
        if hasTSSync(b, offset: 4, stride: 192) { return .m2ts }
        if b.starts(with: [0x00, 0x00, 0x01, 0xBA]) { return .mpegPS }
        if isLegacyQuickTime(b) { return .mov }
        return nil
    }

    // MARK: ISO base media (MP4, MOV, HEIF, AVIF, CR3, 3GP)

    private static let heicBrands: Set<String> = ["heic", "heix", "heim", "heis", "hevc", "hevx", "hevm", "hevs"]
    private static let avifBrands: Set<String> = ["avif", "avis"]
    private static let heifBrands: Set<String> = ["mif1", "msf1", "mif2"]

    private static let audioBrands: Set<String> = ["M4A ", "M4B ", "F4A "]

    /// An ISO-BMFF file, also a damaged one: an `ftyp` box whose size is nonsense (0, 1, 7, beyond the file) still
    /// names its brands, and one without readable brands still has its `meta` (a HEIF picture) or `moov`/`mdat`
    /// boxes. Audio-only MP4 (`M4A `) is not media.
    private static func isoBMFFFormat(_ b: ByteView) -> MediaFormat? {
        guard b.ascii(4, 4) == "ftyp" else { return nil }
        let (major, compatible) = ftypBrands(b)
        if let major { return formatOfMajorBrand(major, compatible: compatible) }
        // The major brand is gone: the compatible brands, then the boxes, tell.
        if compatible.contains(where: audioBrands.contains) && !compatible.contains(where: { $0.hasPrefix("M4V") }) { return nil }
        return formatOfCompatibleBrands(compatible) ?? formatOfBoxes(b)
    }

    /// The `ftyp` box's major brand (nil when it is not a readable brand) and compatible brands. Its size is trusted
    /// only when it is possible; otherwise the brands run on as long as the words read as brands.
    private static func ftypBrands(_ b: ByteView) -> (major: String?, compatible: [String]) {
        let major = brand(b, at: 8)
        let size = Int(b.uint32BE(0) ?? 0)
        let end = size >= 16 && size <= b.count ? size : min(b.count, 16 + 4 * 64)
        var compatible: [String] = []
        var offset = 16
        while offset + 4 <= end, let brand = brand(b, at: offset) {
            compatible.append(brand)
            offset += 4
        }
        return (major, compatible)
    }

    /// Four printable ASCII characters (a brand), not all blank.
    private static func brand(_ b: ByteView, at offset: Int) -> String? {
        guard let text = b.ascii(offset, 4), text.count == 4, text != "    " else { return nil }
        return text
    }

    /// nil for an audio-only brand.
    private static func formatOfMajorBrand(_ major: String, compatible: [String]) -> MediaFormat? {
        if major == "crx " { return .cr3 }
        // The major brand decides, as exiftool does: `mif1` is HEIF even when `heic` is among the compatible
        // brands; only AVIF's brands turn a generic HEIF into AVIF.
        if heicBrands.contains(major) { return .heic }
        if avifBrands.contains(major) { return .avif }
        if heifBrands.contains(major) { return compatible.contains(where: avifBrands.contains) ? .avif : .heif }
        if major == "qt  " { return .mov }
        if major.hasPrefix("3gp") || major.hasPrefix("3g2") { return .threeGPP }
        if major.hasPrefix("M4V") { return .m4v }
        if audioBrands.contains(major) { return nil }
        let brands = [major] + compatible
        if brands.contains(where: heicBrands.contains) && !brands.contains(where: { $0.hasPrefix("mp4") || $0 == "isom" }) {
            return .heic
        }
        return .mp4
    }

    /// Without a major brand: the most specific compatible brand (nil when none is known).
    private static func formatOfCompatibleBrands(_ brands: [String]) -> MediaFormat? {
        if brands.contains(where: avifBrands.contains) { return .avif }
        if brands.contains(where: heicBrands.contains) { return .heic }
        if brands.contains(where: heifBrands.contains) { return .heif }
        if brands.contains("qt  ") { return .mov }
        if brands.contains(where: { $0.hasPrefix("3gp") || $0.hasPrefix("3g2") }) { return .threeGPP }
        if brands.contains(where: { $0.hasPrefix("M4V") }) { return .m4v }
        if brands.contains(where: { $0.hasPrefix("mp4") || $0.hasPrefix("iso") || $0.hasPrefix("avc") }) { return .mp4 }
        return nil
    }

    /// Without any brand: a picture handler (`hdlr` `pict`) makes a HEIF image; a `moov`, `mdat` or `wide` box a
    /// video, unless its only handler is for sound.
    private static func formatOfBoxes(_ b: ByteView) -> MediaFormat? {
        var handlers: Set<String> = []
        var hasMovieBox = false
        let handlerBox = Array("hdlr".utf8), movieBoxes = ["moov", "mdat", "wide"].map { Array($0.utf8) }
        for offset in 4..<max(4, b.count - 3) {
            if b.starts(at: offset, with: handlerBox), let handler = b.ascii(offset + 12, 4) { handlers.insert(handler) }
            if movieBoxes.contains(where: { b.starts(at: offset, with: $0) }) { hasMovieBox = true }
        }
        if handlers.contains("pict") { return .heif }
        guard hasMovieBox, !(handlers.contains("soun") && !handlers.contains("vide")) else { return nil }
        return .mp4
    }

    /// QuickTime files from before `ftyp` existed start with one of these top-level atoms.
    private static func isLegacyQuickTime(_ b: ByteView) -> Bool {
        guard let size = b.uint32BE(0), size >= 8 || size == 1 else { return false }
        guard let type = b.ascii(4, 4), ["moov", "mdat", "wide", "free", "skip", "pnot"].contains(type) else { return false }
        if type == "moov" || type == "pnot" { return true }
        // `mdat`/`wide`/`free` first: look for a `moov` or `mdat` atom right after it.
        let next = Int(size)
        if let nextType = b.ascii(next + 4, 4) { return ["moov", "mdat", "free", "wide"].contains(nextType) }
        return type == "mdat"
    }

    // MARK: TIFF and TIFF-based RAW

    private static func tiffFormat(_ b: ByteView) -> MediaFormat? {
        if b.ascii(0, 4) == "IIRO" || b.ascii(0, 4) == "IIRS" || b.ascii(0, 4) == "MMOR" { return .orf }
        if b.starts(with: [0x49, 0x49, 0x55, 0x00]) { return .rw2 }
        let little: Bool
        if b.starts(with: [0x49, 0x49, 0x2A, 0x00]) { little = true }
        else if b.starts(with: [0x4D, 0x4D, 0x00, 0x2A]) { little = false }
        else { return nil }
        if b.ascii(8, 2) == "CR" && b[10] == 2 { return .cr2 }
        guard let ifd = b.uint32(4, littleEndian: little).map(Int.init),
              let entryCount = b.uint16(ifd, littleEndian: little) else { return .tiff }
        var make = ""
        for index in 0..<Int(entryCount) {
            let entry = ifd + 2 + index * 12
            guard let tag = b.uint16(entry, littleEndian: little) else { break }
            if tag == 0xC612 { return .dng }  // DNGVersion
            if tag == 0x010F, let count = b.uint32(entry + 4, littleEndian: little),
               let at = count > 4 ? b.uint32(entry + 8, littleEndian: little).map(Int.init) : entry + 8 {
                make = b.ascii(at, Int(min(count, 64)))?.uppercased() ?? ""
            }
        }
        if make.hasPrefix("NIKON") { return .nef }
        if make.hasPrefix("SONY") { return .arw }
        return .tiff
    }

    // MARK: Others

    private static func isBMP(_ b: ByteView) -> Bool {
        guard b.ascii(0, 2) == "BM", let reserved = b.uint32(6, littleEndian: true), reserved == 0,
              let dibSize = b.uint32(14, littleEndian: true) else { return false }
        return [12, 40, 52, 56, 64, 108, 124].contains(dibSize)
    }

    private static func hasTSSync(_ b: ByteView, offset: Int, stride: Int) -> Bool {
        let packets = min(5, (b.count - offset) / stride)
        guard packets >= 2 else { return false }
        return (0..<packets).allSatisfy { b[offset + $0 * stride] == 0x47 }
    }

    /// A best guess at what a non-media file is, so the report can say "unsupported: text/html".
    private static func nonMediaType(_ b: ByteView) -> String {
        if b.ascii(0, 4) == "RIFF" && b.ascii(8, 4) == "WAVE" { return "audio/wav" }
        if b.starts(with: Array("ID3".utf8)) || (b[0] == 0xFF && (b[1] & 0xE0) == 0xE0) { return "audio/mpeg" }
        if b.ascii(4, 4) == "ftyp" { return "audio/mp4" }
        if b.starts(with: Array("%PDF".utf8)) { return "application/pdf" }
        if b.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return "application/zip" }
        if b.starts(with: [0x1F, 0x8B]) { return "application/gzip" }
        let prefix = String(decoding: b.bytes.prefix(512), as: UTF8.self).lowercased()
        let trimmed = prefix.drop { $0.isWhitespace || $0 == "\u{FEFF}" }
        if trimmed.hasPrefix("<!doctype html") || trimmed.hasPrefix("<html") { return "text/html" }
        if trimmed.hasPrefix("<?xml") || trimmed.hasPrefix("<svg") {
            return prefix.contains("<svg") ? "image/svg+xml" : "application/xml"
        }
        if trimmed.hasPrefix("{") || trimmed.hasPrefix("[") { return "application/json" }
        let sample = Array(b.bytes.prefix(4096))
        let isText = sample.allSatisfy { $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || ($0 >= 0x20 && $0 != 0x7F) }
        return isText && isUTF8(sample, cut: b.count > sample.count) ? "text/plain" : "application/octet-stream"
    }

    /// Valid UTF-8, allowing a character split by the end of the sample when the file goes on.
    private static func isUTF8(_ sample: [UInt8], cut: Bool) -> Bool {
        for dropped in 0...(cut ? min(3, sample.count) : 0) {
            if String(validating: sample.dropLast(dropped), as: UTF8.self) != nil { return true }
        }
        return false
    }
}
