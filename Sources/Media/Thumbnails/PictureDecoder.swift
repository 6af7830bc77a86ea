import CFFmpeg
import Glibc

/// One libavcodec decoder for still pictures (or HEIF tiles), reporting failures as typed errors.
final class PictureDecoder {
    private let context: CodecContext

    /// `lowres` (0...3) makes JPEG decoders produce 1/2^lowres of the size straight from the DCT.
    /// `greyUntilDecoded` starts pictures mid-grey, so what a truncated file lacks shows grey, not green.
    /// `skipLoopFilter` leaves out HEVC's deblocking and SAO, whose effect a 5× downscale erases anyway.
    init(codec id: AVCodecID, extradata: [UInt8] = [], lowres: Int32 = 0, threads: Int32 = 1,
         greyUntilDecoded: Bool = false, skipLoopFilter: Bool = false) throws(MediaError) {
        guard let codec = avcodec_find_decoder(id) else {
            throw MediaError(.thumbnail, .decodeFailed("libavcodec has no decoder for codec \(id.rawValue)"))
        }
        context = try CodecContext(codec: codec, stage: .thumbnail, configure: { context in
            if !extradata.isEmpty {
                let padded = av_mallocz(extradata.count + Int(AV_INPUT_BUFFER_PADDING_SIZE)).assumingMemoryBound(to: UInt8.self)
                padded.update(from: extradata, count: extradata.count)
                context.pointee.extradata = padded
                context.pointee.extradata_size = Int32(extradata.count)
            }
            context.pointee.lowres = min(lowres, Int32(codec.pointee.max_lowres))
            context.pointee.thread_count = threads
            if skipLoopFilter { context.pointee.skip_loop_filter = AVDISCARD_ALL }
            if greyUntilDecoded { context.pointee.get_buffer2 = greyBudgetedBuffer } else { context.pointee.get_buffer2 = budgetedBuffer }
        }, reason: MediaError.Reason.decodeFailed)
    }

    /// Feeds one compressed picture (nil: no more follow) and hands every picture the decoder outputs meanwhile
    /// to `handle`; a packet's `pts` comes back on the frame it produced.
    func decode(_ packet: Packet?, pts: Int64 = 0, into handle: (Frame) throws(MediaError) -> Void) throws(MediaError) {
        packet?.pointer.pointee.pts = pts
        while true {
            let status = avcodec_send_packet(context.pointer, packet?.pointer)
            guard status >= 0 || status == averrorEAGAIN || status == averrorEOF else {
                throw failure(status, "refused the data")
            }
            while let frame = try receive() { try handle(frame) }
            if status != averrorEAGAIN { return }
        }
    }

    private func receive() throws(MediaError) -> Frame? {
        let frame = Frame()
        let status = avcodec_receive_frame(context.pointer, frame.pointer)
        if status == averrorEAGAIN || status == averrorEOF { return nil }
        guard status >= 0 else { throw failure(status, "cannot decode the picture") }
        return frame
    }

    private func failure(_ status: Int32, _ what: String) -> MediaError {
        if status == averrorOverBudget {
            return PictureBudget.decodedTooLarge(width: Int(context.pointer.pointee.width), height: Int(context.pointer.pointee.height))
        }
        return MediaError(.thumbnail, .corrupt("\(context.codecName) \(what): \(avErrorText(status))"))
    }

    /// Decodes the single picture `packet` holds.
    static func decodeOne(_ packet: Packet, codec: AVCodecID, lowres: Int32 = 0) throws(MediaError) -> Frame {
        let decoder = try PictureDecoder(codec: codec, lowres: lowres, greyUntilDecoded: true)
        var picture: Frame?
        let keepFirst: (Frame) throws(MediaError) -> Void = { frame in if picture == nil { picture = frame } }
        try decoder.decode(packet, into: keepFirst)
        try decoder.decode(nil, into: keepFirst)
        guard let picture else {
            throw MediaError(.thumbnail, .corrupt("\(decoder.context.codecName) found no picture in the data"))
        }
        return picture
    }
}

/// What `budgetedBuffer` answers for a picture over `PictureBudget.decodedBytes`, instead of allocating it.
private let averrorOverBudget = cffmpeg_averror(EFBIG)

/// libavcodec's buffers, for pictures within `PictureBudget`.
private func budgetedBuffer(_ context: UnsafeMutablePointer<AVCodecContext>?, _ frame: UnsafeMutablePointer<AVFrame>?,
                            _ flags: Int32) -> Int32 {
    guard let frame else { return cffmpeg_averror(EINVAL) }
    guard PictureBudget.fits(width: Int(frame.pointee.width), height: Int(frame.pointee.height),
                             format: AVPixelFormat(frame.pointee.format)) else { return averrorOverBudget }
    return avcodec_default_get_buffer2(context, frame, flags)
}

/// `budgetedBuffer`'s buffers, filled with 0x80: mid-grey in YUV, grey in RGB and grey formats.
private func greyBudgetedBuffer(_ context: UnsafeMutablePointer<AVCodecContext>?, _ frame: UnsafeMutablePointer<AVFrame>?,
                                _ flags: Int32) -> Int32 {
    let status = budgetedBuffer(context, frame, flags)
    guard status >= 0, let frame else { return status }
    withUnsafeBytes(of: frame.pointee.buf) { buffers in
        for case let buffer? in buffers.bindMemory(to: UnsafeMutablePointer<AVBufferRef>?.self) {
            memset(buffer.pointee.data, 0x80, buffer.pointee.size)
        }
    }
    return status
}
