import CFFmpeg

/// A decoder for one stream of the input.
func openDecoder(for stream: UnsafeMutablePointer<AVStream>, threads: Int32, skipLoopFilter: Bool = false) throws(MediaError) -> CodecContext {
    let parameters = stream.pointee.codecpar!
    guard let codec = avcodec_find_decoder(parameters.pointee.codec_id) else {
        let name = String(cString: avcodec_get_name(parameters.pointee.codec_id))
        throw MediaError(.stream, .decodeFailed("no decoder for codec \(name)"))
    }
    return try CodecContext(codec: codec, stage: .stream, configure: { context throws(MediaError) in
        try avCheck(avcodec_parameters_to_context(context, parameters), "bad codec parameters", stage: .stream,
                    MediaError.Reason.decodeFailed)
        context.pointee.pkt_timebase = stream.pointee.time_base
        context.pointee.thread_count = threads
        context.pointee.thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE
        if skipLoopFilter { context.pointee.skip_loop_filter = AVDISCARD_ALL }
    }, reason: MediaError.Reason.decodeFailed)
}
