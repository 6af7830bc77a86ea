import CFFmpeg

/// One HLS segment: its byte range in the encrypted stream file and how long it plays.
struct StreamSegment: Equatable {
    var offset: Int
    var length: Int
    var duration: Double
}

/// Muxes the encoded video (and audio) into one MPEG-TS that never touches the disk: the bytes go through a
/// custom AVIOContext into `SegmentCipher`, and a new segment starts at every video keyframe after the first.
final class SegmentedTSMuxer {
    private var format: UnsafeMutablePointer<AVFormatContext>?
    private let cipher: SegmentCipher
    private let videoTimeBase: AVRational
    private let audioTimeBase: AVRational?
    /// The error `output` threw inside the write callback, rethrown once libav returns.
    private var outputFailure: (any Error)?

    /// Audio packets wait here until video has caught up with them, so the file stays interleaved.
    private var pendingAudio: [UnsafeMutablePointer<AVPacket>] = []
    private static let maxPendingAudio = 512

    private var segmentStartPTS: Int64?
    private var segmentStartOffset = 0
    private var videoEndPTS: Int64 = 0
    private(set) var segments: [StreamSegment] = []

    init(video: CodecContext, audio: CodecContext?, cipher: SegmentCipher) throws(MediaError) {
        self.cipher = cipher
        videoTimeBase = video.pointer.pointee.time_base
        audioTimeBase = audio?.pointer.pointee.time_base

        var context: UnsafeMutablePointer<AVFormatContext>? = nil
        try avCheck(avformat_alloc_output_context2(&context, nil, "mpegts", nil), "mpegts muxer", stage: .stream)
        format = context
        guard let context else { throw MediaError(.stream, .encodeFailed("mpegts muxer unavailable")) }

        let bufferSize: Int32 = 64 * 1024
        let buffer = av_malloc(Int(bufferSize))?.assumingMemoryBound(to: UInt8.self)
        let opaque = Unmanaged.passUnretained(self).toOpaque()
        context.pointee.pb = avio_alloc_context(buffer, bufferSize, 1, opaque, nil, { opaque, bytes, count in
            let muxer = Unmanaged<SegmentedTSMuxer>.fromOpaque(opaque!).takeUnretainedValue()
            return muxer.receive(UnsafeRawBufferPointer(start: bytes, count: Int(count)))
        }, nil)
        guard context.pointee.pb != nil else {
            av_free(buffer)
            throw MediaError(.stream, .encodeFailed("out of memory for the stream output"))
        }
        context.pointee.flags |= AVFMT_FLAG_CUSTOM_IO
        // As the ffmpeg CLI does (-muxdelay 0.7): PCR runs ahead of DTS so players' buffers do not underflow.
        context.pointee.max_delay = 700_000

        for codec in [video, audio].compactMap({ $0 }) {
            let stream = avformat_new_stream(context, nil)!
            try avCheck(avcodec_parameters_from_context(stream.pointee.codecpar, codec.pointer), "stream parameters", stage: .stream)
            stream.pointee.time_base = codec.pointer.pointee.time_base
        }
        try checked(avformat_write_header(context, nil), "mpegts header")
    }

    deinit {
        for packet in pendingAudio { var owned: UnsafeMutablePointer<AVPacket>? = packet; av_packet_free(&owned) }
        guard let format else { return }
        if let pb = format.pointee.pb {
            av_free(pb.pointee.buffer)
            var io: UnsafeMutablePointer<AVIOContext>? = pb
            avio_context_free(&io)
        }
        avformat_free_context(format)
    }

    private func receive(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        do {
            try cipher.write(bytes)
            return Int32(bytes.count)
        } catch {
            outputFailure = error
            return cffmpeg_averror(EIO)
        }
    }

    /// Writes a video packet (in the encoder's time base); a keyframe after the first closes the segment before it.
    func writeVideo(_ packet: UnsafeMutablePointer<AVPacket>) throws(MediaError) {
        try writeAudio(upTo: packet.pointee.dts)
        if packet.pointee.flags & AV_PKT_FLAG_KEY != 0 {
            if let start = segmentStartPTS { try closeSegment(startPTS: start, endPTS: packet.pointee.pts) }
            segmentStartPTS = packet.pointee.pts
        }
        videoEndPTS = max(videoEndPTS, packet.pointee.pts + max(packet.pointee.duration, 1))
        try write(packet, stream: 0, from: videoTimeBase)
    }

    /// Queues an audio packet (in the audio encoder's time base) until the video has reached its time.
    func writeAudio(_ packet: UnsafeMutablePointer<AVPacket>) throws(MediaError) {
        pendingAudio.append(av_packet_clone(packet))
        if pendingAudio.count > Self.maxPendingAudio { try writeAudio(upTo: .max, limit: 1) }
    }

    /// Writes what is still queued, flushes the file and closes the last segment.
    func finish() throws(MediaError) {
        try writeAudio(upTo: .max)
        try checked(av_write_trailer(format), "mpegts trailer")
        avio_flush(format!.pointee.pb)
        if let start = segmentStartPTS { try sealSegment(startPTS: start, endPTS: videoEndPTS) }
    }

    private func closeSegment(startPTS: Int64, endPTS: Int64) throws(MediaError) {
        // Flushing the muxer writes out the PES packets it holds back, so the segment is complete.
        try checked(av_write_frame(format, nil), "mpegts flush")
        avio_flush(format!.pointee.pb)
        try sealSegment(startPTS: startPTS, endPTS: endPTS)
    }

    private func sealSegment(startPTS: Int64, endPTS: Int64) throws(MediaError) {
        try rethrowOutputFailure()
        do { try cipher.endSegment() } catch { throw MediaError(.stream, .io("stream output failed: \(error)")) }
        let duration = Double(endPTS - startPTS) * Double(videoTimeBase.num) / Double(videoTimeBase.den)
        segments.append(StreamSegment(offset: segmentStartOffset, length: cipher.bytesWritten - segmentStartOffset,
                                      duration: duration))
        segmentStartOffset = cipher.bytesWritten
    }

    /// Writes queued audio up to `time` (in the video time base), at most `limit` packets.
    private func writeAudio(upTo time: Int64, limit: Int = .max) throws(MediaError) {
        guard let audioTimeBase else { return }
        var written = 0
        while written < limit, let packet = pendingAudio.first,
              time == .max || av_compare_ts(packet.pointee.dts, audioTimeBase, time, videoTimeBase) <= 0 {
            pendingAudio.removeFirst()
            var owned: UnsafeMutablePointer<AVPacket>? = packet
            defer { av_packet_free(&owned) }
            try write(packet, stream: 1, from: audioTimeBase)
            written += 1
        }
    }

    private func write(_ packet: UnsafeMutablePointer<AVPacket>, stream: Int32,
                       from timeBase: AVRational) throws(MediaError) {
        packet.pointee.stream_index = stream
        av_packet_rescale_ts(packet, timeBase, format!.pointee.streams[Int(stream)]!.pointee.time_base)
        try checked(av_write_frame(format, packet), "mpegts write")
    }

    private func checked(_ code: Int32, _ what: String) throws(MediaError) {
        try rethrowOutputFailure()
        try avCheck(code, what, stage: .stream)
    }

    private func rethrowOutputFailure() throws(MediaError) {
        if let outputFailure { throw MediaError(.stream, .io("stream output failed: \(outputFailure)")) }
    }
}
