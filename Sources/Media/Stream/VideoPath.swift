import CFFmpeg

/// Decoder → filter graph (fps, scale, rotation, tone-map) → libx264, for the video stream; without an encoder,
/// decoder → filter graph → thumbnail picker alone.
final class VideoPath {
    static let bitRate = 2_000_000
    static let maxRate = 2_000_000
    static let bufferSize = 4_000_000
    static let segmentSeconds = 2

    let streamIndex: Int32
    /// Nil when only the thumbnail is wanted.
    let encoder: CodecContext?
    let thumbnail = ThumbnailPicker()
    /// Frames that came out of the filters (and went into the encoder, if any).
    private(set) var framesOut = 0
    /// Frames that came out of the decoder.
    private(set) var framesDecoded = 0
    /// When set, sees each frame that comes out of the filters, before the encoder (the floor benchmark holds them).
    var filteredFrameTap: ((UnsafeMutablePointer<AVFrame>) -> Void)?

    let stream: UnsafeMutablePointer<AVStream>
    let decoder: CodecContext
    let geometry: StreamGeometry
    /// Nil when the frame-rate step drops nothing (or skipping is turned off): every packet is decoded.
    private let skipper: DroppedFrameSkipper?
    /// False: frames stop at the decoder (the floor benchmark's decode alone).
    private let filters: Bool
    /// The file's start time in the stream's time base: frames are timed from it.
    let origin: Int64
    /// Built from the first decoded frame, whose pixel format and colours it needs.
    private var graph: FilterGraph?
    private var firstOutputPTS: Int64?
    private let decoded = Frame()
    private let filtered = Frame()
    private let packet = Packet()

    /// `preset` is x264's; nil makes a path that encodes nothing and only picks the thumbnail. `filters` false stops
    /// frames at the decoder; `skipsDroppedFrames` false decodes the frames the frame-rate step drops too (both only
    /// for measuring).
    init(stream: UnsafeMutablePointer<AVStream>, format: UnsafeMutablePointer<AVFormatContext>, origin: Int64,
         preset: String?, filters: Bool = true, skipsDroppedFrames: Bool = true) throws(MediaError) {
        self.stream = stream
        streamIndex = stream.pointee.index
        self.origin = av_rescale_q(origin, cffmpeg_time_base_q(), stream.pointee.time_base)
        let parameters = stream.pointee.codecpar.pointee
        guard parameters.width > 0, parameters.height > 0 else {
            throw MediaError(.stream, .corrupt("the video stream has no frame size"))
        }

        let rate = av_guess_frame_rate(format, stream, nil)
        let aspect = parameters.sample_aspect_ratio
        geometry = StreamGeometry(
            width: Int(parameters.width), height: Int(parameters.height),
            pixelAspect: (Int(aspect.num), Int(aspect.den)),
            counterClockwiseDegrees: Self.displayRotation(of: stream),
            sourceFrameRate: rate.num > 0 && rate.den > 0 ? av_q2d(rate) : nil)
        decoder = try openDecoder(for: stream, threads: 0,
                                  skipLoopFilter: geometry.skipsLoopFilter(hevc: parameters.codec_id == AV_CODEC_ID_HEVC))
        encoder = if let preset { try Self.openEncoder(geometry: geometry, preset: preset) } else { nil }
        self.filters = filters
        skipper = geometry.dropsFrames && skipsDroppedFrames
            ? DroppedFrameSkipper(timeBase: stream.pointee.time_base, origin: self.origin, frameRate: geometry.frameRate)
            : nil
    }

    /// Decodes `packet` (nil: end of stream) and sends what comes out through the filters and the encoder.
    /// The packet's data may be taken over (held back to see what comes after it).
    func decode(_ packet: UnsafeMutablePointer<AVPacket>?, into muxer: SegmentedTSMuxer?) throws(MediaError) {
        let send = { (packet: UnsafeMutablePointer<AVPacket>, dropped: Bool) throws(MediaError) in
            try self.decodeOne(packet, skippingIfUnreferenced: dropped, into: muxer)
        }
        if let packet {
            if let skipper { try skipper.push(packet, send) } else { try send(packet, false) }
            return
        }
        try skipper?.drain(send)
        try decodeOne(nil, skippingIfUnreferenced: false, into: muxer)
        try graph?.filter(nil, into: filtered) { frame throws(MediaError) in try encode(frame, into: muxer) }
        guard let encoder, let muxer else { return }
        try encoder.encode(nil, into: self.packet) { packet throws(MediaError) in try muxer.writeVideo(packet) }
    }

    private func decodeOne(_ packet: UnsafeMutablePointer<AVPacket>?, skippingIfUnreferenced skip: Bool,
                           into muxer: SegmentedTSMuxer?) throws(MediaError) {
        decoder.pointer.pointee.skip_frame = skip ? AVDISCARD_NONREF : AVDISCARD_DEFAULT
        try decoder.decode(packet, into: decoded) { frame throws(MediaError) in
            framesDecoded += 1
            guard filters else { return }
            let pts = frame.pointee.best_effort_timestamp
            guard pts != cffmpeg_nopts() else { return }
            frame.pointee.pts = pts - origin
            if graph == nil { graph = try makeGraph(for: frame) }
            try graph!.filter(frame, into: filtered) { frame throws(MediaError) in try encode(frame, into: muxer) }
        }
    }

    private func encode(_ frame: UnsafeMutablePointer<AVFrame>, into muxer: SegmentedTSMuxer?) throws(MediaError) {
        var timeBase = av_buffersink_get_time_base(graph!.sink)
        if let encoder {
            frame.pointee.pts = av_rescale_q(frame.pointee.pts, timeBase, encoder.pointer.pointee.time_base)
            timeBase = encoder.pointer.pointee.time_base
        }
        let first = firstOutputPTS ?? frame.pointee.pts
        firstOutputPTS = first
        thumbnail.offer(frame, seconds: Double(frame.pointee.pts - first) * av_q2d(timeBase))
        framesOut += 1
        filteredFrameTap?(frame)
        guard let encoder, let muxer else { return }
        // Keyframes come from the GOP size alone, not from where the source had its own.
        frame.pointee.pict_type = AV_PICTURE_TYPE_NONE
        try encoder.encode(frame, into: packet) { packet throws(MediaError) in try muxer.writeVideo(packet) }
    }

    /// The filters for frames like `frame`; without `retiming`, the chain lacks the frame-rate step, which picks and
    /// retimes frames but changes no pixels (the rest works on each frame alone).
    func makeGraph(for frame: UnsafeMutablePointer<AVFrame>, retiming: Bool = true) throws(MediaError) -> FilterGraph {
        let f = frame.pointee, timeBase = stream.pointee.time_base
        var aspect = f.sample_aspect_ratio
        if aspect.num <= 0 || aspect.den <= 0 { aspect = AVRational(num: 1, den: 1) }
        let source = "video_size=\(f.width)x\(f.height):pix_fmt=\(f.format):time_base=\(timeBase.num)/\(timeBase.den)"
            + ":pixel_aspect=\(aspect.num)/\(aspect.den)"
        return try FilterGraph(audio: false, sourceArguments: source,
                               chain: Self.filterChain(geometry: geometry, colors: ColorConversion(of: f), retiming: retiming))
    }

    static func filterChain(geometry: StreamGeometry, colors: ColorConversion, retiming: Bool = true) -> String {
        // Dropping frames first and scaling before rotating keep the costly steps on the fewest pixels.
        var filters = retiming ? ["fps=\(geometry.frameRate)"] : []
        let scale = "scale=w=\(geometry.scaledWidth):h=\(geometry.scaledHeight):flags=bicubic"
        // HDR is scaled in its own colours for the tone-map; the rest becomes 8-bit limited range right away.
        filters += colors == .toneMap ? [scale] : [scale + ":out_range=tv", "format=yuv420p"]
        switch geometry.rotation {
        case 90: filters.append("transpose=clock")
        case 180: filters += ["hflip", "vflip"]
        case 270: filters.append("transpose=cclock")
        default: break
        }
        filters += colors.filters
        filters.append("setsar=1")
        return filters.joined(separator: ",")
    }

    static func openEncoder(geometry: StreamGeometry, preset: String) throws(MediaError) -> CodecContext {
        guard let codec = avcodec_find_encoder_by_name("libx264") else {
            throw MediaError(.stream, .encodeFailed("libx264 is not available"))
        }
        let keyInterval = Int32(geometry.frameRate * segmentSeconds)
        return try CodecContext(codec: codec, stage: .stream, configure: { context throws(MediaError) in
            let c = context
            c.pointee.width = Int32(geometry.outputWidth)
            c.pointee.height = Int32(geometry.outputHeight)
            c.pointee.sample_aspect_ratio = AVRational(num: 1, den: 1)
            c.pointee.pix_fmt = AV_PIX_FMT_YUV420P
            c.pointee.time_base = AVRational(num: 1, den: Int32(geometry.frameRate))
            c.pointee.framerate = AVRational(num: Int32(geometry.frameRate), den: 1)
            c.pointee.bit_rate = Int64(bitRate)
            c.pointee.rc_max_rate = Int64(maxRate)
            c.pointee.rc_buffer_size = Int32(bufferSize)
            c.pointee.gop_size = keyInterval
            c.pointee.keyint_min = keyInterval
            c.pointee.flags |= Int32(bitPattern: AV_CODEC_FLAG_CLOSED_GOP)
            c.pointee.color_range = AVCOL_RANGE_MPEG
            c.pointee.colorspace = AVCOL_SPC_BT709
            c.pointee.color_primaries = AVCOL_PRI_BT709
            c.pointee.color_trc = AVCOL_TRC_BT709
            c.pointee.thread_count = 0
        }, options: ["preset": preset, "profile": "high", "sc_threshold": "0"],
           reason: MediaError.Reason.encodeFailed)
    }

    /// The display matrix's counter-clockwise rotation in degrees, nil without one.
    private static func displayRotation(of stream: UnsafeMutablePointer<AVStream>) -> Double? {
        var size = 0
        guard let matrix = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size), size >= 9 * 4 else {
            return nil
        }
        let angle = matrix.withMemoryRebound(to: Int32.self, capacity: 9) { av_display_rotation_get($0) }
        return angle.isNaN ? nil : angle
    }
}
