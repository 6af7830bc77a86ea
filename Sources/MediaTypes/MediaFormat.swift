/// Whether a file is a still image or a video.
public enum MediaKind: String, Sendable, Codable {
    case image, video
}

/// A container format Keepsake accepts, as recognised from a file's bytes.
///
/// MIME types follow exiftool's names, which the tests use as the reference.
public enum MediaFormat: String, Sendable, Codable, CaseIterable {
    case jpeg, png, gif, webp, heic, heif, avif, tiff, bmp
    case dng, cr2, cr3, nef, arw, orf, rw2, raf
    case mp4, mov, m4v, threeGPP = "3gp", matroska = "mkv", webm, avi, mpegTS = "ts", m2ts, mpegPS = "mpg"

    public var kind: MediaKind {
        switch self {
        case .jpeg, .png, .gif, .webp, .heic, .heif, .avif, .tiff, .bmp,
             .dng, .cr2, .cr3, .nef, .arw, .orf, .rw2, .raf:
            return .image
        case .mp4, .mov, .m4v, .threeGPP, .matroska, .webm, .avi, .mpegTS, .m2ts, .mpegPS:
            return .video
        }
    }

    public var mimeType: String {
        switch self {
        case .jpeg: "image/jpeg"
        case .png: "image/png"
        case .gif: "image/gif"
        case .webp: "image/webp"
        case .heic: "image/heic"
        case .heif: "image/heif"
        case .avif: "image/avif"
        case .tiff: "image/tiff"
        case .bmp: "image/bmp"
        case .dng: "image/x-adobe-dng"
        case .cr2: "image/x-canon-cr2"
        case .cr3: "image/x-canon-cr3"
        case .nef: "image/x-nikon-nef"
        case .arw: "image/x-sony-arw"
        case .orf: "image/x-olympus-orf"
        case .rw2: "image/x-panasonic-rw2"
        case .raf: "image/x-fujifilm-raf"
        case .mp4: "video/mp4"
        case .mov: "video/quicktime"
        case .m4v: "video/x-m4v"
        case .threeGPP: "video/3gpp"
        case .matroska: "video/x-matroska"
        case .webm: "video/webm"
        case .avi: "video/x-msvideo"
        case .mpegTS: "video/mp2t"
        case .m2ts: "video/m2ts"
        case .mpegPS: "video/mpeg"
        }
    }

    /// True for the photo formats a browser (Chromium) does not show, which get a large JPEG rendition at ingest:
    /// HEIC/HEIF, TIFF and camera RAW. JPEG, PNG, GIF, WebP, AVIF and BMP it shows itself.
    public var needsRendition: Bool {
        switch self {
        case .heic, .heif, .tiff: true
        default: isRaw
        }
    }

    /// True for camera RAW formats, whose thumbnails come from the embedded preview.
    public var isRaw: Bool {
        switch self {
        case .dng, .cr2, .cr3, .nef, .arw, .orf, .rw2, .raf: true
        default: false
        }
    }
}
