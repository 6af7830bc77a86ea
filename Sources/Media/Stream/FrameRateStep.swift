import CFFmpeg

/// The stream's frame-rate step (the `fps` filter) as a rule on source timestamps: which output frame (slot) a
/// source frame falls in. Of the source frames in one slot `fps` keeps the last; an empty slot repeats the frame before.
struct FrameRateStep {
    /// The source's time base; `origin` (in it) is the file's start, from which frames are timed.
    let timeBase: AVRational
    let origin: Int64
    let outputTimeBase: AVRational

    init(timeBase: AVRational, origin: Int64, frameRate: Int) {
        self.timeBase = timeBase
        self.origin = origin
        outputTimeBase = AVRational(num: 1, den: Int32(frameRate))
    }

    /// The output frame `time` rounds to, as the `fps` filter rounds (to the nearest, halves away from zero).
    func slot(of time: Int64) -> Int64 {
        let rounding = AVRounding(rawValue: AV_ROUND_NEAR_INF.rawValue | AV_ROUND_PASS_MINMAX.rawValue)
        return av_rescale_q_rnd(time - origin, timeBase, outputTimeBase, rounding)
    }

    /// The source time (in `timeBase`, with the origin) at the middle of output frame `slot`.
    func time(of slot: Int64) -> Int64 {
        origin + av_rescale_q(slot, outputTimeBase, timeBase)
    }
}
