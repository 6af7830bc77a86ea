// The entry points the pipeline calls. Each is implemented in its own file by the work on its issue;
// until then it throws `.unsupportedFormat`, which the pipeline reports as a stage not produced.

/// An 8-bit RGB image in memory (3 bytes a pixel, rows `bytesPerRow` apart), upright, sRGB.
public struct RGBImage: Sendable {
    public var width: Int
    public var height: Int
    public var bytesPerRow: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, bytesPerRow: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.bytesPerRow = bytesPerRow
        self.pixels = pixels
    }
}

public enum MetadataReader {
    /// Reads SPEC 3's metadata of the file at `path`, including the capture-time fallbacks (sidecar, file name, mtime).
    public static func read(fileAt path: String, format: MediaFormat) throws(MediaError) -> MediaMetadata {
        throw MediaError(.metadata, .unsupportedFormat(format))
    }
}

public enum Thumbnailer {
    /// The upright, sRGB thumbnail of a still image as JPEG bytes (long edge ≤ 720, ≤ 100 KB).
    /// `orientation` is the EXIF orientation when the metadata stage found one.
    public static func thumbnail(fileAt path: String, format: MediaFormat, orientation: Int?) throws(MediaError) -> [UInt8] {
        throw MediaError(.thumbnail, .unsupportedFormat(format))
    }
}

public enum ThumbnailEncoder {
    /// Scales `image` to a long edge of at most 720 (never up) and encodes it as JPEG, quality 70 lowered
    /// in steps to 50 while the result is over 100 KB.
    public static func jpeg(from image: RGBImage) throws(MediaError) -> [UInt8] {
        throw MediaError(.thumbnail, .encodeFailed("JPEG encoder not built yet"))
    }
}
