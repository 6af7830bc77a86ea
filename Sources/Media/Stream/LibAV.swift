import CFFmpeg

/// libav's own words for an error code.
func avErrorText(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 128)
    av_strerror(code, &buffer, buffer.count)
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Throws a stream-stage error when a libav call returned a negative code.
@discardableResult
func avCheck(_ code: Int32, _ what: String,
             _ reason: (String) -> MediaError.Reason = MediaError.Reason.encodeFailed) throws(MediaError) -> Int32 {
    guard code >= 0 else { throw MediaError(.stream, reason("\(what): \(avErrorText(code))")) }
    return code
}

let averrorEAGAIN = cffmpeg_averror(EAGAIN)
let averrorEOF = cffmpeg_averror_eof()

/// An owned `AVFrame`, reused across calls.
final class Frame {
    let pointer: UnsafeMutablePointer<AVFrame>
    init() { pointer = av_frame_alloc() }
    deinit {
        var frame: UnsafeMutablePointer<AVFrame>? = pointer
        av_frame_free(&frame)
    }
}

/// An owned `AVPacket`, reused across calls.
final class Packet {
    let pointer: UnsafeMutablePointer<AVPacket>
    init() { pointer = av_packet_alloc() }
    deinit {
        var packet: UnsafeMutablePointer<AVPacket>? = pointer
        av_packet_free(&packet)
    }
}

/// An opened codec context (decoder or encoder), freed with its owner.
final class CodecContext {
    let pointer: UnsafeMutablePointer<AVCodecContext>

    init(codec: UnsafePointer<AVCodec>, configure: (UnsafeMutablePointer<AVCodecContext>) throws(MediaError) -> Void,
         options: [String: String] = [:], reason: (String) -> MediaError.Reason) throws(MediaError) {
        guard let context = avcodec_alloc_context3(codec) else {
            throw MediaError(.stream, reason("out of memory for a codec context"))
        }
        pointer = context
        try configure(context)
        var dictionary: OpaquePointer? = nil
        for (key, value) in options { av_dict_set(&dictionary, key, value, 0) }
        defer { av_dict_free(&dictionary) }
        let name = String(cString: codec.pointee.name)
        try avCheck(avcodec_open2(context, codec, &dictionary), "cannot open \(name)", reason)
    }

    deinit {
        var context: UnsafeMutablePointer<AVCodecContext>? = pointer
        avcodec_free_context(&context)
    }

    /// Sends `frame` (nil: end of stream) and hands each packet the encoder has ready to `body`.
    func encode(_ frame: UnsafeMutablePointer<AVFrame>?, into packet: Packet,
                _ body: (UnsafeMutablePointer<AVPacket>) throws(MediaError) -> Void) throws(MediaError) {
        let sent = avcodec_send_frame(pointer, frame)
        if sent != averrorEOF { try avCheck(sent, "encoder refused a frame") }
        while true {
            let received = avcodec_receive_packet(pointer, packet.pointer)
            if received == averrorEAGAIN || received == averrorEOF { return }
            try avCheck(received, "encoder failed")
            defer { av_packet_unref(packet.pointer) }
            try body(packet.pointer)
        }
    }

    /// Sends `packet` (nil: end of stream) and hands each decoded frame to `body`.
    /// Damaged data is skipped: a damaged file yields what decodes.
    func decode(_ packet: UnsafeMutablePointer<AVPacket>?, into frame: Frame,
                _ body: (UnsafeMutablePointer<AVFrame>) throws(MediaError) -> Void) throws(MediaError) {
        avcodec_send_packet(pointer, packet)
        while true {
            let received = avcodec_receive_frame(pointer, frame.pointer)
            if received < 0 { return }
            defer { av_frame_unref(frame.pointer) }
            try body(frame.pointer)
        }
    }
}

/// A decoder for one stream of the input.
func openDecoder(for stream: UnsafeMutablePointer<AVStream>, threads: Int32) throws(MediaError) -> CodecContext {
    let parameters = stream.pointee.codecpar!
    guard let codec = avcodec_find_decoder(parameters.pointee.codec_id) else {
        let name = String(cString: avcodec_get_name(parameters.pointee.codec_id))
        throw MediaError(.stream, .decodeFailed("no decoder for codec \(name)"))
    }
    return try CodecContext(codec: codec, configure: { context throws(MediaError) in
        try avCheck(avcodec_parameters_to_context(context, parameters), "bad codec parameters", MediaError.Reason.decodeFailed)
        context.pointee.pkt_timebase = stream.pointee.time_base
        context.pointee.thread_count = threads
        context.pointee.thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE
    }, reason: MediaError.Reason.decodeFailed)
}
