import CFFmpeg

/// Keeps the stream frame the thumbnail is made of: the first at or after 1 s, else the first of all.
/// The frames are the encoder's input (upright, tone-mapped, BT.709 limited range yuv420p), held by reference.
final class ThumbnailPicker {
    static let atSeconds = 1.0

    private let frame = Frame()
    private var held = false
    /// The frame at `atSeconds` has come by: later frames cannot change the pick.
    private(set) var settled = false

    /// Looks at a frame on its way to the encoder; `seconds` is its time from the start of the video.
    func offer(_ candidate: UnsafeMutablePointer<AVFrame>, seconds: Double) {
        guard !settled else { return }
        if held && seconds < Self.atSeconds { return }
        av_frame_unref(frame.pointer)
        av_frame_ref(frame.pointer, candidate)
        held = true
        settled = seconds >= Self.atSeconds
    }

    /// How many output frames after the first the pick is, at `frameRate` (the `offer` rule in output frames).
    static func framesToPick(frameRate: Int) -> Int64 {
        let frame = av_q2d(AVRational(num: 1, den: Int32(frameRate)))
        var count: Int64 = 0
        while Double(count) * frame < atSeconds { count += 1 }
        return count
    }

    /// The picked frame as RGB24 of `PictureSize.thumbnail` (long edge at most 720); nil when no frame came by.
    func image() throws(MediaError) -> RGBImage? {
        guard held else { return nil }
        return try Self.image(of: frame)
    }

    /// A stream frame (BT.709 limited range, as the encoder gets it) as the thumbnail's RGB24.
    static func image(of frame: Frame) throws(MediaError) -> RGBImage {
        let source = RGBScaler.Source(frame, format: AVPixelFormat(frame.pointer.pointee.format),
                                      matrix: AVCOL_SPC_BT709, fullRange: false)
        let target = PictureSize.thumbnail.fitting(width: source.width, height: source.height)
        return try RGBScaler.scale(source, width: target.width, height: target.height, algorithm: SWS_BICUBIC,
                                   stage: .stream, reason: MediaError.Reason.encodeFailed)
    }
}
