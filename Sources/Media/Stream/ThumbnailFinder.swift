import CFFmpeg
import MediaTypes

/// The thumbnail of a video whose stream is not made (`ingest --no-streams`): the frame the stream's `ThumbnailPicker`
/// picks, found without decoding and filtering the whole video up to it.
///
/// The stream's pick is the frame the frame-rate step puts `ThumbnailPicker.framesToPick` output frames after its
/// first: the last source frame that falls in that output frame or an earlier one (`FrameRateStep`). So the finder
/// 1. decodes from the start until the first frame comes out: its output frame is the stream's first, and the filters
///    are built for it, as the stream's are;
/// 2. seeks to the keyframe at or before the pick when the index has one past what has been read;
/// 3. decodes on until a frame past the pick's output frame comes out, holding the last one before it; a frame that a
///    later one (known from the packets read) outdates is skipped in decode when no other frame refers to it;
/// 4. sends that frame alone through the stream's filters minus the frame-rate step (which picks and retimes frames
///    but changes no pixels; the other filters work on each frame alone).
/// Where it cannot be sure, it decodes from the start as the stream does: the input ends before a frame past the
/// pick (a clip of about 1 s or less, or a damaged one), or a seek fails or lands on no keyframe before the pick.
final class ThumbnailFinder {
    /// The thumbnail frame, and what finding it took (tests count the work).
    struct Search {
        var frame: RGBImage?
        /// Frames that came out of the decoder.
        var framesDecoded: Int
        /// Frames that went through the filters.
        var framesFiltered: Int
        var seeked: Bool
        /// Decoded from the start and filtered frame by frame, as the stream does.
        var decodedFromStart: Bool
    }

    /// The frame the stream's thumbnail is made of, found by seeking where that is sure.
    static func find(path: String) throws(MediaError) -> Search {
        // Anything the quick way trips over, the way the stream goes reports.
        if let search = try? ThumbnailFinder(path: path).seekingSearch() { return search }
        return try fromStart(path: path)
    }

    /// Decodes from the start, every frame through the stream's filters, until the thumbnail picker has settled.
    static func fromStart(path: String) throws(MediaError) -> Search {
        let input = try InputFile(path: path)
        let video = try TranscodeSession.openVideo(in: input, preset: nil)
        try TranscodeSession.feedVideo(of: input, to: video, until: { video.thumbnail.settled })
        return Search(frame: try video.thumbnail.image(), framesDecoded: video.framesDecoded,
                      framesFiltered: video.framesOut, seeked: false, decodedFromStart: true)
    }

    private let input: InputFile
    /// Only its decoder, geometry and filters are used: frames go through here, not through `decode`.
    private let video: VideoPath
    private let step: FrameRateStep
    private let packet = Packet()
    private let decoded = Frame()
    /// The first frame that came out of the decoder, and the output frame of the pick (counted from the first).
    private var first: Frame?
    private var pickSlot: Int64?
    /// The last frame at or before the pick's output frame so far; `passed` once a frame after it came out.
    private var held: Frame?
    private var passed = false
    /// After a seek, the time of the keyframe it landed on: frames shown before it (leading pictures) may refer to
    /// what was not decoded.
    private var validFrom = Int64.min
    /// A seek landed on a packet the index calls a keyframe: the first frame out must be that one, and a keyframe to
    /// the decoder too (a damaged index marks other frames, which an HEVC decoder decodes from grey references).
    private var checkingLanding = false
    /// The seek did not land on a keyframe: decoded from the start, the frames may differ.
    private var unsure = false
    /// The latest time of a packet read that falls at or before the pick: the frames before it cannot be the pick.
    private var latestBeforePick = Int64.min
    private var framesDecoded = 0
    private var seeked = false

    private init(path: String) throws(MediaError) {
        input = try InputFile(path: path)
        video = try TranscodeSession.openVideo(in: input, preset: nil)
        step = FrameRateStep(timeBase: video.stream.pointee.time_base, origin: video.origin,
                             frameRate: video.geometry.frameRate)
    }

    /// The search with a seek; nil where it cannot be sure of the frame the stream picks.
    private func seekingSearch() throws(MediaError) -> Search? {
        guard let held = try walk() else { return nil }
        guard let frame = try filter(held) else { return nil }
        return Search(frame: frame, framesDecoded: framesDecoded, framesFiltered: 1, seeked: seeked,
                      decodedFromStart: false)
    }

    /// Reads and decodes until a frame past the pick comes out; answers the pick, or nil when unsure.
    private func walk() throws(MediaError) -> Frame? {
        let context = input.context
        // The decode time of the last packet sent: where the input is.
        var position = Int64.min
        var seekDecided = false
        var awaitingKeyframe = false
        // Seeks that landed on a keyframe shown after the pick (the index holds decode times, earlier than those).
        var overshoots = 0
        while !passed, av_read_frame(context, packet.pointer) >= 0 {
            defer { av_packet_unref(packet.pointer) }
            let read = packet.pointer.pointee
            guard read.stream_index == video.streamIndex else { continue }
            if awaitingKeyframe {
                // The index said keyframe here: a packet that is not one is a damaged index.
                guard read.flags & AV_PKT_FLAG_KEY != 0, read.pts != cffmpeg_nopts(), let pickSlot else { return nil }
                if step.slot(of: read.pts) > pickSlot {
                    overshoots += 1
                    guard overshoots <= Self.overshootsAllowed, seek(before: read.pts - 1, past: .min) == .done else {
                        return nil
                    }
                    continue
                }
                validFrom = read.pts
                awaitingKeyframe = false
                checkingLanding = true
            }
            if read.dts != cffmpeg_nopts() { position = read.dts }
            try send(packet.pointer)
            if !seekDecided, !passed, let pickSlot {
                seekDecided = true
                switch seek(before: step.time(of: pickSlot), past: position) {
                case .notNeeded: break
                case .done: awaitingKeyframe = true
                case .failed: return nil
                }
            }
        }
        if !passed { try decode(nil) }
        guard passed, !unsure else { return nil }
        return held
    }

    /// A keyframe shown after the pick sends the seek one keyframe back, this many times at most.
    static let overshootsAllowed = 3

    private enum Seek { case notNeeded, done, failed }

    /// Seeks to the last keyframe at or before presentation time `time`, when the index has one past `position` (the
    /// decode time of the last packet read). The index's times are about decode times, which the demuxer's seek maps
    /// (an MP4 edit list shifts them): the keyframe it lands on is checked when read.
    private func seek(before time: Int64, past position: Int64) -> Seek {
        guard let entry = avformat_index_get_entry_from_timestamp(video.stream, time, AVSEEK_FLAG_BACKWARD),
              entry.pointee.timestamp > position else { return .notNeeded }
        guard av_seek_frame(input.context, video.streamIndex, time, AVSEEK_FLAG_BACKWARD) >= 0 else {
            return .failed
        }
        avcodec_flush_buffers(video.decoder.pointer)
        held = nil
        seeked = true
        return .done
    }

    /// Sends a packet to the decoder, skipped if nothing refers to it and a later frame at or before the pick is known.
    private func send(_ packet: UnsafeMutablePointer<AVPacket>) throws(MediaError) {
        var outdated = false
        if let pickSlot, let time = DroppedFrameSkipper.presentationTime(of: packet) {
            outdated = time < latestBeforePick
            if step.slot(of: time) <= pickSlot { latestBeforePick = max(latestBeforePick, time) }
        }
        video.decoder.pointer.pointee.skip_frame = outdated ? AVDISCARD_NONREF : AVDISCARD_DEFAULT
        try decode(packet)
    }

    private func decode(_ packet: UnsafeMutablePointer<AVPacket>?) throws(MediaError) {
        try video.decoder.decode(packet, into: decoded) { frame throws(MediaError) in
            framesDecoded += 1
            let time = frame.pointee.best_effort_timestamp
            guard !passed, time != cffmpeg_nopts() else { return }
            if checkingLanding {
                checkingLanding = false
                guard time == validFrom, frame.pointee.key_frame != 0 else {
                    unsure = true
                    passed = true
                    return
                }
            }
            if first == nil {
                let kept = Frame()
                av_frame_ref(kept.pointer, frame)
                first = kept
                pickSlot = step.slot(of: time) + ThumbnailPicker.framesToPick(frameRate: video.geometry.frameRate)
            }
            guard step.slot(of: time) <= pickSlot! else {
                passed = true
                return
            }
            guard time >= validFrom else { return }
            let kept = held ?? Frame()
            av_frame_unref(kept.pointer)
            av_frame_ref(kept.pointer, frame)
            held = kept
        }
    }

    /// The stream's filters (built for the first frame, as the stream's are) applied to `frame` alone.
    private func filter(_ frame: Frame) throws(MediaError) -> RGBImage? {
        let graph = try video.makeGraph(for: first!.pointer, retiming: false)
        frame.pointer.pointee.pts = frame.pointer.pointee.best_effort_timestamp - video.origin
        let filtered = Frame(), picked = Frame()
        var took = false
        let take = { (output: UnsafeMutablePointer<AVFrame>) throws(MediaError) in
            guard !took else { return }
            av_frame_ref(picked.pointer, output)
            took = true
        }
        try graph.filter(frame.pointer, into: filtered, take)
        if !took { try graph.filter(nil, into: filtered, take) }
        return took ? try ThumbnailPicker.image(of: picked) : nil
    }
}
