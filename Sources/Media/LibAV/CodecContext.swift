import CFFmpeg

/// An opened codec context (decoder or encoder), freed with its owner. Its errors carry `stage`.
final class CodecContext {
    let pointer: UnsafeMutablePointer<AVCodecContext>
    let stage: MediaError.Stage

    init(codec: UnsafePointer<AVCodec>, stage: MediaError.Stage,
         configure: (UnsafeMutablePointer<AVCodecContext>) throws(MediaError) -> Void,
         options: [String: String] = [:], reason: (String) -> MediaError.Reason) throws(MediaError) {
        let name = String(cString: codec.pointee.name)
        guard let context = avcodec_alloc_context3(codec) else {
            throw MediaError(stage, reason("out of memory for a \(name) codec context"))
        }
        pointer = context
        self.stage = stage
        try configure(context)
        var dictionary: OpaquePointer? = nil
        for (key, value) in options { av_dict_set(&dictionary, key, value, 0) }
        defer { av_dict_free(&dictionary) }
        try avCheck(avcodec_open2(context, codec, &dictionary), "cannot open \(name)", stage: stage, reason)
    }

    deinit {
        var context: UnsafeMutablePointer<AVCodecContext>? = pointer
        avcodec_free_context(&context)
    }

    var codecName: String { String(cString: pointer.pointee.codec.pointee.name) }

    /// Sends `frame` (nil: end of stream) and hands each packet the encoder has ready to `body`.
    func encode(_ frame: UnsafeMutablePointer<AVFrame>?, into packet: Packet,
                _ body: (UnsafeMutablePointer<AVPacket>) throws(MediaError) -> Void) throws(MediaError) {
        let sent = avcodec_send_frame(pointer, frame)
        if sent != averrorEOF { try avCheck(sent, "encoder refused a frame", stage: stage) }
        while true {
            let received = avcodec_receive_packet(pointer, packet.pointer)
            if received == averrorEAGAIN || received == averrorEOF { return }
            try avCheck(received, "encoder failed", stage: stage)
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
