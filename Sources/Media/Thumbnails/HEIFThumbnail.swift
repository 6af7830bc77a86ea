import CFFmpeg

/// Thumbnails (and renditions) of HEIC, HEIF and AVIF files. HEVC-coded primaries are decoded with libavcodec from our own
/// parse of the item structure (faster than libheif's libde265, and it also reads the files libheif 1.15
/// refuses); everything else goes through libheif.
enum HEIFThumbnail {
    static func make(fileAt path: String, size: PictureSize) throws(MediaError) -> RGBImage {
        let file = try MediaFile(path: path, stage: .thumbnail)
        guard let container = try? HEIFContainer(file: file), let primary = container.primaryItemID,
              HEVCItemDecoder.canDecode(primary, in: container) else {
            return try LibheifDecoder.picture(fileAt: path, size: size)
        }
        let properties = container.properties(of: primary)
        // Deblocking and SAO are left out of a thumbnail (a 5× downscale erases their effect), not of a rendition.
        let frame = try HEVCItemDecoder(container: container, file: file, skipLoopFilter: size == .thumbnail).decode(primary)
        var profile = ColorDescription()
        for property in properties {
            switch property {
            case .colorProfile(let icc): profile.iccProfile = icc
            case .colorNCLX(let primaries, _, let matrix, let fullRange):
                profile.primaries = primaries
                frame.pointer.pointee.colorspace = AVColorSpace(UInt32(matrix))
                frame.pointer.pointee.color_range = fullRange ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG
            default: break
            }
        }
        if profile.primaries == nil, frame.pointer.pointee.color_primaries != AVCOL_PRI_UNSPECIFIED {
            profile.primaries = Int(frame.pointer.pointee.color_primaries.rawValue)
        }
        var image = profile.toSRGB(try FrameScaler.rgb(from: frame, size: size))
        for property in properties {
            switch property {
            case .rotation(let quarterTurns): image = image.rotatedAnticlockwise(quarterTurns: quarterTurns)
            case .mirror(let horizontally): image = image.mirrored(horizontally: horizontally)
            default: break
            }
        }
        return image
    }
}

/// How a HEIF says its colours are meant: an ICC profile wins over `nclx` primaries.
struct ColorDescription {
    var iccProfile: [UInt8]?
    var primaries: Int?

    /// ITU-T H.273 colour primaries 12: Display P3 (iPhone photos).
    static let displayP3Primaries = 12

    func toSRGB(_ image: RGBImage) -> RGBImage {
        if let iccProfile { return ColorConverter.toSRGB(image, iccProfile: iccProfile) }
        if primaries == Self.displayP3Primaries { return ColorConverter.displayP3ToSRGB(image) }
        return image
    }
}
