import CExif
import MediaTypes

/// The values SPEC 3 wants from one EXIF block, as the file states them (not yet validated).
struct ExifFields: Equatable {
    var dateTimeOriginal: String?
    var subSecTimeOriginal: String?
    var offsetTimeOriginal: String?
    /// DateTimeDigitized (exiftool: CreateDate) and its companions: the capture time when DateTimeOriginal is missing.
    var dateTimeDigitized: String?
    var subSecTimeDigitized: String?
    var offsetTimeDigitized: String?
    var make: String?
    var model: String?
    var lens: String?
    var orientation: Int?
    var latitude: Double?
    var longitude: Double?
    var altitude: Double?
    /// Apple MakerNote tag 0x0011 (exiftool: ContentIdentifier / MediaGroupUUID).
    var contentIdentifier: String?
    /// IFD0 ImageWidth / ImageLength: the real size only for TIFF files.
    var imageWidth: Int?
    var imageHeight: Int?
}

extension ExifFields {
    /// Orientations 5…8 show the stored picture turned a quarter, so width and height swap.
    var turnsQuarter: Bool { (5...8).contains(orientation ?? 1) }

    /// These fields, with the gaps filled from `other`.
    func filled(from other: ExifFields) -> ExifFields {
        var result = self
        func fill<Value>(_ keyPath: WritableKeyPath<ExifFields, Value?>) {
            if result[keyPath: keyPath] == nil { result[keyPath: keyPath] = other[keyPath: keyPath] }
        }
        fill(\.dateTimeOriginal); fill(\.subSecTimeOriginal); fill(\.offsetTimeOriginal)
        fill(\.dateTimeDigitized); fill(\.subSecTimeDigitized); fill(\.offsetTimeDigitized)
        fill(\.make); fill(\.model); fill(\.lens); fill(\.orientation)
        fill(\.latitude); fill(\.longitude); fill(\.altitude)
        fill(\.contentIdentifier); fill(\.imageWidth); fill(\.imageHeight)
        return result
    }
}

/// Reads an EXIF block (a TIFF structure) with libexif.
enum ExifBlock {
    private static let exifHeader: [UInt8] = Array("Exif".utf8) + [0, 0]

    /// Where the tags sit. Standard EXIF links IFD0 to the EXIF and GPS IFDs; Canon CR3 stores each of
    /// them as the first IFD of a TIFF structure of its own (boxes CMT1, CMT2, CMT4).
    enum Layout { case standard, exifIFDOnly, gpsIFDOnly }

    /// `bytes` starts with a TIFF header ("II*\0" / "MM\0*"), optionally preceded by "Exif\0\0".
    static func parse(_ bytes: [UInt8], layout: Layout = .standard) -> ExifFields? {
        guard let tiff = tiffStart(bytes) else { return nil }
        let block = exifHeader + bytes[tiff...]
        guard let data = exif_data_new() else { return nil }
        defer { exif_data_unref(data) }
        // Report what the file says: no tags added, dropped or "fixed".
        exif_data_unset_option(data, EXIF_DATA_OPTION_IGNORE_UNKNOWN_TAGS)
        exif_data_unset_option(data, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION)
        exif_data_set_option(data, EXIF_DATA_OPTION_DONT_CHANGE_MAKER_NOTE)
        block.withUnsafeBufferPointer { exif_data_load_data(data, $0.baseAddress, UInt32($0.count)) }

        let order = exif_data_get_byte_order(data)
        let ifds = data.pointee.ifd
        let reader = EntryReader(order: order)
        var fields = ExifFields()
        let (ifd0, exif, gps) = switch layout {
        case .standard: (ifds.0, ifds.2, ifds.3)
        case .exifIFDOnly: (nil, ifds.0, nil)
        case .gpsIFDOnly: (nil, nil, ifds.0)
        }
        fields.make = reader.string(ifd0, 0x010F)
        fields.model = reader.string(ifd0, 0x0110)
        fields.orientation = reader.integer(ifd0, 0x0112)
        fields.imageWidth = reader.integer(ifd0, 0x0100)
        fields.imageHeight = reader.integer(ifd0, 0x0101)
        fields.dateTimeOriginal = reader.string(exif, 0x9003)
        fields.subSecTimeOriginal = reader.string(exif, 0x9291)
        fields.offsetTimeOriginal = reader.string(exif, 0x9011)
        fields.dateTimeDigitized = reader.string(exif, 0x9004)
        fields.subSecTimeDigitized = reader.string(exif, 0x9292)
        fields.offsetTimeDigitized = reader.string(exif, 0x9012)
        fields.lens = reader.string(exif, 0xA434)
        if let note = reader.raw(exif, 0x927C) { fields.contentIdentifier = AppleMakerNote.contentIdentifier(note) }

        if let latitude = reader.degrees(gps, 0x0002), let longitude = reader.degrees(gps, 0x0004) {
            fields.latitude = reader.string(gps, 0x0001)?.uppercased() == "S" ? -latitude : latitude
            fields.longitude = reader.string(gps, 0x0003)?.uppercased() == "W" ? -longitude : longitude
            if let altitude = reader.rationals(gps, 0x0006)?.first {
                fields.altitude = reader.raw(gps, 0x0005)?.first == 1 ? -altitude : altitude
            }
        }
        return fields == ExifFields() ? nil : fields
    }

    /// Where the TIFF header starts: at 0, after "Exif\0\0", or (HEIF Exif items vary) within the first bytes.
    static func tiffStart(_ bytes: [UInt8]) -> Int? {
        let view = ByteView(bytes)
        for candidate in [0, 6] + Array(0..<min(64, bytes.count)) {
            if view.starts(at: candidate, with: [0x49, 0x49, 0x2A, 0x00])
                || view.starts(at: candidate, with: [0x4D, 0x4D, 0x00, 0x2A]) {
                return candidate
            }
        }
        return nil
    }
}

/// Typed reads of libexif entries; every read checks the entry's format and size.
private struct EntryReader {
    let order: ExifByteOrder

    func entry(_ content: UnsafeMutablePointer<ExifContent>?, _ tag: UInt32) -> ExifEntry? {
        guard let content, let entry = exif_content_get_entry(content, ExifTag(rawValue: tag)) else { return nil }
        guard entry.pointee.data != nil else { return nil }
        return entry.pointee
    }

    func raw(_ content: UnsafeMutablePointer<ExifContent>?, _ tag: UInt32) -> [UInt8]? {
        guard let entry = entry(content, tag) else { return nil }
        return Array(UnsafeBufferPointer(start: entry.data, count: Int(entry.size)))
    }

    func string(_ content: UnsafeMutablePointer<ExifContent>?, _ tag: UInt32) -> String? {
        guard let bytes = raw(content, tag) else { return nil }
        let text = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            .trimmingCharacters(in: " \t\r\n")
        return text.isEmpty ? nil : text
    }

    func integer(_ content: UnsafeMutablePointer<ExifContent>?, _ tag: UInt32) -> Int? {
        guard let entry = entry(content, tag), entry.components >= 1 else { return nil }
        switch entry.format {
        case EXIF_FORMAT_SHORT where entry.size >= 2: return Int(exif_get_short(entry.data, order))
        case EXIF_FORMAT_LONG where entry.size >= 4: return Int(exif_get_long(entry.data, order))
        default: return nil
        }
    }

    func rationals(_ content: UnsafeMutablePointer<ExifContent>?, _ tag: UInt32) -> [Double]? {
        // Some cameras write GPS coordinates as signed rationals.
        guard let entry = entry(content, tag),
              entry.format == EXIF_FORMAT_RATIONAL || entry.format == EXIF_FORMAT_SRATIONAL else { return nil }
        let count = min(Int(entry.components), Int(entry.size) / 8)
        guard count > 0 else { return nil }
        return (0..<count).map { index in
            if entry.format == EXIF_FORMAT_SRATIONAL {
                let value = exif_get_srational(entry.data + index * 8, order)
                return value.denominator == 0 ? .nan : Double(value.numerator) / Double(value.denominator)
            }
            let value = exif_get_rational(entry.data + index * 8, order)
            return value.denominator == 0 ? .nan : Double(value.numerator) / Double(value.denominator)
        }
    }

    /// Degrees, minutes, seconds as three rationals (fewer are accepted: some cameras write one).
    func degrees(_ content: UnsafeMutablePointer<ExifContent>?, _ tag: UInt32) -> Double? {
        guard let parts = rationals(content, tag), parts.allSatisfy(\.isFinite) else { return nil }
        var value = 0.0
        for (part, scale) in zip(parts, [1.0, 60.0, 3600.0]) { value += part / scale }
        return value
    }
}

private extension String {
    func trimmingCharacters(in set: String) -> String {
        let scalars = Set(set)
        return String(drop { scalars.contains($0) }.reversed().drop { scalars.contains($0) }.reversed())
    }
}

/// Apple's MakerNote: "Apple iOS\0", a version, "MM", then a big-endian IFD whose offsets count from the note's start.
enum AppleMakerNote {
    static func contentIdentifier(_ note: [UInt8]) -> String? {
        let view = ByteView(note)
        guard view.ascii(0, 9) == "Apple iOS", view.ascii(12, 2) == "MM",
              let count = view.uint16BE(14) else { return nil }
        for index in 0..<Int(count) {
            let entry = 16 + index * 12
            guard let tag = view.uint16BE(entry), let type = view.uint16BE(entry + 2),
                  let length = view.uint32BE(entry + 4).map(Int.init) else { return nil }
            guard tag == 0x0011, type == 2 else { continue }
            let at = length <= 4 ? entry + 8 : view.uint32BE(entry + 8).map(Int.init) ?? -1
            guard let bytes = view.slice(at, length) else { return nil }
            let text = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            return text.isEmpty ? nil : text
        }
        return nil
    }
}
