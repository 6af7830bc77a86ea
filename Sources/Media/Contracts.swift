// The entry points the pipeline calls. Each is implemented in its own file by the work on its issue;
// until then it throws `.unsupportedFormat`, which the pipeline reports as a stage not produced.

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
