/// The shape of the stream for one source video: upright size, short side 720 (never upscaled), at most 30 fps.
struct StreamGeometry: Equatable {
    static let shortSide = 720
    static let maxFrameRate = 30

    /// Clockwise rotation the display matrix asks for: 0, 90, 180 or 270.
    var rotation: Int
    /// The frame size handed to the rotation step, i.e. the scaled size before rotating.
    var scaledWidth: Int
    var scaledHeight: Int
    /// Whole frames a second of the constant-rate output.
    var frameRate: Int
    /// Source pixels per output pixel along the short side (1 when the source is not downscaled).
    var downscale: Double
    /// The source has more frames a second than the stream: the frame-rate step drops some (`DroppedFrameSkipper`).
    var dropsFrames: Bool

    /// From this downscale on, the source's deblocking changes nothing the stream can show, and skipping it saves a
    /// quarter of an H.264 decode. 720p renderings decoded with and without it, SSIM against the source (ffmpeg CLI,
    /// reference settings): a 1080p iPhone H.264 clip 0.9491 and 0.9488; a 4K phone clip 0.996 between the two.
    /// Below it (upscaled or barely scaled), the stream shows the source's blocks.
    static let loopFilterSkippedFrom = 1.5
    /// HEVC's blocks are up to 32×32 (H.264's 8×8), and their edges still show at 1.5: a 1080p60 x265 clip 0.9945 and
    /// 0.9913 (the stream 0.0042 under the ffmpeg CLI's, near the rule's 0.005); a 1440p iPhone HEVC clip 0.9737 and
    /// 0.9740, a tenth of its decode saved.
    static let hevcLoopFilterSkippedFrom = 2.0

    /// Whether the decoder skips the deblocking (and, for HEVC, SAO) of a source in `hevc` or another codec.
    func skipsLoopFilter(hevc: Bool) -> Bool {
        downscale >= (hevc ? Self.hevcLoopFilterSkippedFrom : Self.loopFilterSkippedFrom)
    }

    /// The upright output size.
    var outputWidth: Int { rotation % 180 == 0 ? scaledWidth : scaledHeight }
    var outputHeight: Int { rotation % 180 == 0 ? scaledHeight : scaledWidth }

    /// - Parameters:
    ///   - width, height: the coded frame size; `pixelAspect` its sample aspect ratio (nil or invalid: square).
    ///   - counterClockwiseDegrees: `av_display_rotation_get`'s angle, nil without a display matrix.
    ///   - sourceFrameRate: the guessed rate of the source, nil when unknown.
    init(width: Int, height: Int, pixelAspect: (num: Int, den: Int)?, counterClockwiseDegrees: Double?,
         sourceFrameRate: Double?) {
        let degrees = Int((-(counterClockwiseDegrees ?? 0)).rounded())
        rotation = ((degrees % 360) + 360) % 360 / 90 * 90

        var displayWidth = Double(width)
        if let aspect = pixelAspect, aspect.num > 0, aspect.den > 0 {
            displayWidth *= Double(aspect.num) / Double(aspect.den)
        }
        let short = min(displayWidth, Double(height))
        let factor = min(1, Double(Self.shortSide) / short)
        downscale = 1 / factor
        scaledWidth = Self.even(displayWidth * factor, atMost: displayWidth)
        scaledHeight = Self.even(Double(height) * factor, atMost: Double(height))

        // Rounded up so that 29.97 becomes 30 and a rate just under an integer keeps every frame.
        if let rate = sourceFrameRate, rate.isFinite, rate > 0 {
            frameRate = min(Self.maxFrameRate, max(1, Int((rate - 0.01).rounded(.up))))
            dropsFrames = rate > Double(frameRate)
        } else {
            frameRate = Self.maxFrameRate
            dropsFrames = false
        }
    }

    /// H.264 4:2:0 needs even sizes; rounding never goes past the source's own size.
    private static func even(_ value: Double, atMost limit: Double) -> Int {
        let nearest = Int((value / 2).rounded()) * 2
        return max(2, nearest > Int(limit) ? nearest - 2 : nearest)
    }
}
