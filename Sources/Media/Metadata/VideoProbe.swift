import CFFmpeg

/// What libavformat says about a video container: its streams and its tags.
struct VideoFacts {
    var durationSeconds: Double?
    var videoCodec: String?
    var audioCodec: String?
    var frameRate: Double?
    /// Clockwise degrees to turn the coded picture upright: 0, 90, 180, 270.
    var rotation = 0
    /// Coded size, before rotation.
    var width: Int?
    var height: Int?
    var hdrTransfer: String?
    /// Container and video-stream tags, container first.
    var tags: [String: String] = [:]
}

/// Opens a video with libavformat and reads its headers; only when the headers lack stream parameters
/// (MPEG-TS, AVI) does it probe packets, and then only a few megabytes.
enum VideoProbe {
    private static let probeBytes = "4000000"
    private static let analyzeMicroseconds = "3000000"

    static func probe(path: String) throws(MediaError) -> VideoFacts {
        _ = LibAV.configured
        var context: UnsafeMutablePointer<AVFormatContext>?
        var options: OpaquePointer?
        av_dict_set(&options, "probesize", probeBytes, 0)
        av_dict_set(&options, "analyzeduration", analyzeMicroseconds, 0)
        let opened = avformat_open_input(&context, path, nil, &options)
        av_dict_free(&options)
        guard opened >= 0, let format = context else {
            throw MediaError(.metadata, .corrupt("libavformat cannot read the container: \(avErrorText(opened))"))
        }
        defer { avformat_close_input(&context) }

        if needsStreamProbe(format) {
            let found = avformat_find_stream_info(format, nil)
            guard found >= 0 else {
                throw MediaError(.metadata, .corrupt("libavformat finds no stream parameters: \(avErrorText(found))"))
            }
        }
        var facts = VideoFacts()
        facts.tags = tags(format.pointee.metadata)
        let duration = format.pointee.duration
        if duration != cffmpeg_nopts(), duration > 0 { facts.durationSeconds = Double(duration) / Double(AV_TIME_BASE) }

        let streams = (0..<Int(format.pointee.nb_streams)).compactMap { format.pointee.streams[$0] }
        let video = streams.first { $0.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_VIDEO
            && $0.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC == 0 }
        let audio = streams.first { $0.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_AUDIO }
        guard let video else { throw MediaError(.metadata, .nothingToProcess("the container has no video stream")) }

        let parameters = video.pointee.codecpar.pointee
        facts.videoCodec = codecName(parameters.codec_id)
        if parameters.width > 0, parameters.height > 0 {
            facts.width = Int(parameters.width)
            facts.height = Int(parameters.height)
        }
        for rate in [video.pointee.avg_frame_rate, video.pointee.r_frame_rate] where rate.num > 0 && rate.den > 0 {
            facts.frameRate = Double(rate.num) / Double(rate.den)
            break
        }
        facts.rotation = rotation(of: video)
        switch parameters.color_trc {
        case AVCOL_TRC_SMPTE2084: facts.hdrTransfer = "pq"
        case AVCOL_TRC_ARIB_STD_B67: facts.hdrTransfer = "hlg"
        default: break
        }
        if let audio { facts.audioCodec = codecName(audio.pointee.codecpar.pointee.codec_id) }
        facts.tags.merge(tags(video.pointee.metadata)) { container, _ in container }
        if facts.durationSeconds == nil, video.pointee.duration != cffmpeg_nopts(), video.pointee.duration > 0 {
            facts.durationSeconds = Double(video.pointee.duration) * av_q2d(video.pointee.time_base)
        }
        return facts
    }

    /// MP4 and MOV headers carry everything; MPEG-TS and some AVIs need packets read to know the codec's size.
    private static func needsStreamProbe(_ format: UnsafeMutablePointer<AVFormatContext>) -> Bool {
        let streams = (0..<Int(format.pointee.nb_streams)).compactMap { format.pointee.streams[$0] }
        let videos = streams.filter { $0.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_VIDEO }
        return videos.isEmpty || videos.contains {
            $0.pointee.codecpar.pointee.codec_id == AV_CODEC_ID_NONE || $0.pointee.codecpar.pointee.width <= 0
        } || format.pointee.duration == cffmpeg_nopts()
    }

    /// The display matrix's rotation, as the clockwise turn that makes the picture upright.
    private static func rotation(of stream: UnsafeMutablePointer<AVStream>) -> Int {
        var size = 0
        guard let data = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size), size >= 36 else { return 0 }
        let counterClockwise = data.withMemoryRebound(to: Int32.self, capacity: 9) { av_display_rotation_get($0) }
        guard counterClockwise.isFinite else { return 0 }
        let clockwise = Int((-counterClockwise / 90).rounded()) * 90
        return ((clockwise % 360) + 360) % 360
    }

    private static func tags(_ dictionary: OpaquePointer?) -> [String: String] {
        var result: [String: String] = [:]
        var entry: UnsafeMutablePointer<AVDictionaryEntry>?
        while let next = av_dict_get(dictionary, "", entry, AV_DICT_IGNORE_SUFFIX) {
            if let key = next.pointee.key, let value = next.pointee.value {
                result[String(cString: key)] = String(cString: value)
            }
            entry = next
        }
        return result
    }

    private static func codecName(_ id: AVCodecID) -> String? {
        guard id != AV_CODEC_ID_NONE, let name = avcodec_get_name(id) else { return nil }
        return String(cString: name)
    }
}
