import MediaTypes

public enum Thumbnailer {
    /// The upright, sRGB thumbnail of a still image, or of a video's frame at 1 s, as JPEG bytes (long edge ≤ 720,
    /// ≤ 100 KB).
    /// `orientation` is the EXIF orientation when the metadata stage found one; HEIF files ignore it,
    /// since their `irot`/`imir` properties already say how to turn the picture.
    public static func thumbnail(fileAt path: String, format: MediaFormat, orientation: Int?) throws(MediaError) -> [UInt8] {
        _ = LibAV.configured
        let image: RGBImage
        switch format {
        case .jpeg, .png, .gif, .webp, .bmp, .tiff:
            image = try StillImageThumbnail.make(fileAt: path, format: format, orientation: orientation)
        case .heic, .heif, .avif:
            image = try HEIFThumbnail.make(fileAt: path)
        case .dng, .cr2, .cr3, .nef, .arw, .orf, .rw2, .raf:
            image = try RawPreview.make(fileAt: path, format: format, orientation: orientation)
        case .mp4, .mov, .m4v, .threeGPP, .matroska, .webm, .avi, .mpegTS, .m2ts, .mpegPS:
            image = try VideoTranscoder.thumbnailFrame(fileAt: path)
        }
        return try ThumbnailEncoder.jpeg(from: image)
    }
}
