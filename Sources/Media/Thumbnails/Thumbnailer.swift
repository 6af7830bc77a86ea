import MediaTypes

public enum Thumbnailer {
    /// The upright, sRGB thumbnail of a still image, or of a video's frame at 1 s, as JPEG bytes (long edge ≤ 720,
    /// ≤ 100 KB).
    /// `orientation` is the EXIF orientation when the metadata stage found one; HEIF files ignore it,
    /// since their `irot`/`imir` properties already say how to turn the picture.
    public static func thumbnail(fileAt path: String, format: MediaFormat, orientation: Int?) throws(MediaError) -> [UInt8] {
        try ThumbnailEncoder.jpeg(from: decode(fileAt: path, format: format, orientation: orientation, size: .thumbnail))
    }

    /// The thumbnail and, for a photo format browsers do not show (`MediaFormat.needsRendition`), its rendition:
    /// a JPEG of long edge ≤ 2048, upright and sRGB as the thumbnail is, both from one decode of the file.
    /// A rendition that cannot be encoded costs the rendition only.
    public static func pictures(fileAt path: String, format: MediaFormat, orientation: Int?,
                                rendition: RenditionPolicy = .whereNeeded) throws(MediaError) -> StillPictures {
        guard format.needsRendition || (rendition == .always && format.kind == .image) else {
            return StillPictures(thumbnail: try thumbnail(fileAt: path, format: format, orientation: orientation))
        }
        let image = try decode(fileAt: path, format: format, orientation: orientation, size: .rendition)
        let thumbnail = try ThumbnailEncoder.jpeg(from: image)
        do {
            return StillPictures(thumbnail: thumbnail, rendition: try RenditionEncoder.jpeg(from: image))
        } catch {
            return StillPictures(thumbnail: thumbnail, renditionProblem: StageProblem(stage: "rendition", reason: error.description))
        }
    }

    private static func decode(fileAt path: String, format: MediaFormat, orientation: Int?, size: PictureSize) throws(MediaError) -> RGBImage {
        _ = LibAV.configured
        switch format {
        case .jpeg, .png, .gif, .webp, .bmp, .tiff:
            return try StillImageThumbnail.make(fileAt: path, format: format, orientation: orientation, size: size)
        case .heic, .heif, .avif:
            return try HEIFThumbnail.make(fileAt: path, size: size)
        case .dng, .cr2, .cr3, .nef, .arw, .orf, .rw2, .raf:
            return try RawPreview.make(fileAt: path, format: format, orientation: orientation, size: size)
        case .mp4, .mov, .m4v, .threeGPP, .matroska, .webm, .avi, .mpegTS, .m2ts, .mpegPS:
            return try VideoTranscoder.thumbnailFrame(fileAt: path)
        }
    }
}
