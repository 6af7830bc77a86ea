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

/// Options of the HLS stream (SPEC 5).
public struct StreamOptions: Sendable {
    /// x264 preset, `veryfast` by default.
    public var preset: String
    public init(preset: String = "veryfast") { self.preset = preset }
}

/// What one decode pass of a video produced.
public struct TranscodeResult: Sendable {
    /// The HLS playlist text (carrying the segment key as a `data:` URI) whose segments are byte ranges of `segmentFileName`.
    public var playlist: String
    /// The frame at 1 s (0 s for shorter clips), upright, tone-mapped, long edge ≤ 720; nil when none could be decoded.
    public var thumbnailFrame: RGBImage?
    public init(playlist: String, thumbnailFrame: RGBImage?) {
        self.playlist = playlist
        self.thumbnailFrame = thumbnailFrame
    }
}

public enum VideoTranscoder {
    /// The segment file's name as the playlist refers to it.
    public static let segmentFileName = "stream.ts"

    /// Decodes the video once, encodes its 720p H.264/AAC HLS stream as one MPEG-TS with byte-range segments,
    /// each segment AES-128-CBC encrypted with `segmentKey` and `iv` (16 bytes each) and handed to `output` in order.
    public static func transcode(fileAt path: String, format: MediaFormat, options: StreamOptions,
                                 segmentKey: [UInt8], iv: [UInt8],
                                 output: (UnsafeRawBufferPointer) throws -> Void) throws(MediaError) -> TranscodeResult {
        throw MediaError(.stream, .unsupportedFormat(format))
    }
}
