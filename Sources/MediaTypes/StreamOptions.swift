/// Options of the HLS stream (SPEC 5).
public struct StreamOptions: Sendable {
    /// x264 preset, `veryfast` by default.
    public var preset: String
    public init(preset: String = "veryfast") { self.preset = preset }

    /// The segment file's name as the playlist refers to it.
    public static let segmentFileName = "stream.ts"
    /// The segment key's file beside them in `keepsake stream --to DIR`. ffmpeg's HLS reader (and so ffplay and mpv)
    /// opens only files whose extension is a media one (its `allowed_extensions`), the key file included: hence `.ts`.
    public static let keyFileName = "stream.key.ts"

    /// About how much memory one transcode of a video with frames of `width` × `height` holds: the decoder's reference
    /// and threading frames grow with the frame, x264's 720p encode does not (measured: about 150 MB for 1080p,
    /// 215 MB for 4K).
    public static func estimatedMemory(width: Int, height: Int) -> Int {
        (128 << 20) + width * height * 12
    }
}
