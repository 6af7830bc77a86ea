import CFFmpeg

/// Decoder → resampler (any layout to stereo, any rate to 44.1/48 kHz) → native AAC-LC, for the sound track.
final class AudioPath {
    static let bitRate = 128_000
    /// Rates kept as they are; any other is resampled to 48 kHz.
    static let keptRates: Set<Int32> = [44_100, 48_000]

    let streamIndex: Int32
    let encoder: CodecContext

    private let stream: UnsafeMutablePointer<AVStream>
    private let decoder: CodecContext
    private let origin: Int64
    /// Built from the first decoded frame, whose format and layout it needs.
    private var graph: FilterGraph?
    private let decoded = Frame()
    private let resampled = Frame()
    private let packet = Packet()

    init(stream: UnsafeMutablePointer<AVStream>, origin: Int64) throws(MediaError) {
        self.stream = stream
        streamIndex = stream.pointee.index
        self.origin = av_rescale_q(origin, cffmpeg_time_base_q(), stream.pointee.time_base)
        decoder = try openDecoder(for: stream, threads: 1)
        let sourceRate = stream.pointee.codecpar.pointee.sample_rate
        let rate = Self.keptRates.contains(sourceRate) ? sourceRate : 48_000

        guard let codec = avcodec_find_encoder(AV_CODEC_ID_AAC) else {
            throw MediaError(.stream, .encodeFailed("no AAC encoder"))
        }
        encoder = try CodecContext(codec: codec, stage: .stream, configure: { c in
            c.pointee.sample_fmt = AV_SAMPLE_FMT_FLTP
            c.pointee.sample_rate = rate
            av_channel_layout_default(&c.pointee.ch_layout, 2)
            c.pointee.bit_rate = Int64(Self.bitRate)
            c.pointee.time_base = AVRational(num: 1, den: rate)
        }, reason: MediaError.Reason.encodeFailed)
    }

    /// Decodes `packet` (nil: end of stream) and sends what comes out through the resampler and the encoder.
    func decode(_ packet: UnsafeMutablePointer<AVPacket>?, into muxer: SegmentedTSMuxer) throws(MediaError) {
        try decoder.decode(packet, into: decoded) { frame throws(MediaError) in
            let pts = frame.pointee.best_effort_timestamp
            frame.pointee.pts = pts == cffmpeg_nopts() ? pts : pts - origin
            if graph == nil { graph = try makeGraph(for: frame) }
            try graph!.filter(frame, into: resampled) { frame throws(MediaError) in try encode(frame, into: muxer) }
        }
        guard packet == nil else { return }
        try graph?.filter(nil, into: resampled) { frame throws(MediaError) in try encode(frame, into: muxer) }
        try encoder.encode(nil, into: self.packet) { packet throws(MediaError) in try muxer.writeAudio(packet) }
    }

    private func encode(_ frame: UnsafeMutablePointer<AVFrame>, into muxer: SegmentedTSMuxer) throws(MediaError) {
        let sinkTimeBase = av_buffersink_get_time_base(graph!.sink)
        if frame.pointee.pts != cffmpeg_nopts() {
            frame.pointee.pts = av_rescale_q(frame.pointee.pts, sinkTimeBase, encoder.pointer.pointee.time_base)
        }
        try encoder.encode(frame, into: packet) { packet throws(MediaError) in try muxer.writeAudio(packet) }
    }

    private func makeGraph(for frame: UnsafeMutablePointer<AVFrame>) throws(MediaError) -> FilterGraph {
        let f = frame.pointee, timeBase = stream.pointee.time_base
        var layout = AVChannelLayout()
        defer { av_channel_layout_uninit(&layout) }
        if f.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || f.ch_layout.nb_channels == 0 {
            av_channel_layout_default(&layout, max(1, f.ch_layout.nb_channels))
        } else {
            withUnsafePointer(to: f.ch_layout) { _ = av_channel_layout_copy(&layout, $0) }
        }
        var name = [CChar](repeating: 0, count: 128)
        av_channel_layout_describe(&layout, &name, name.count)
        let layoutName = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let sampleFormat = String(cString: av_get_sample_fmt_name(AVSampleFormat(f.format)))
        let source = "time_base=\(timeBase.num)/\(timeBase.den):sample_rate=\(f.sample_rate)"
            + ":sample_fmt=\(sampleFormat):channel_layout=\(layoutName)"
        let rate = encoder.pointer.pointee.sample_rate
        let graph = try FilterGraph(audio: true, sourceArguments: source,
                                    chain: "aresample=\(rate),aformat=sample_fmts=fltp:channel_layouts=stereo")
        // The AAC encoder takes frames of exactly its frame size.
        av_buffersink_set_frame_size(graph.sink, UInt32(encoder.pointer.pointee.frame_size))
        return graph
    }
}
