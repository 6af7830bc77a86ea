import CFFmpeg
import Glibc

/// One libavcodec decoder for still pictures (or HEIF tiles), reporting failures as typed errors.
final class PictureDecoder {
    private let context: UnsafeMutablePointer<AVCodecContext>
    private let codecName: String

    /// `lowres` (0...3) makes JPEG decoders produce 1/2^lowres of the size straight from the DCT.
    /// `greyUntilDecoded` starts pictures mid-grey, so what a truncated file lacks shows grey, not green.
    /// `skipLoopFilter` leaves out HEVC's deblocking and SAO, whose effect a 5× downscale erases anyway.
    init(codec id: AVCodecID, extradata: [UInt8] = [], lowres: Int32 = 0, threads: Int32 = 1,
         greyUntilDecoded: Bool = false, skipLoopFilter: Bool = false) throws(MediaError) {
        guard let codec = avcodec_find_decoder(id) else {
            throw MediaError(.thumbnail, .decodeFailed("libavcodec has no decoder for codec \(id.rawValue)"))
        }
        codecName = String(cString: codec.pointee.name)
        guard let context = avcodec_alloc_context3(codec) else {
            throw MediaError(.thumbnail, .decodeFailed("cannot allocate a \(codecName) decoder"))
        }
        self.context = context
        if !extradata.isEmpty {
            let padded = av_mallocz(extradata.count + Int(AV_INPUT_BUFFER_PADDING_SIZE)).assumingMemoryBound(to: UInt8.self)
            padded.update(from: extradata, count: extradata.count)
            context.pointee.extradata = padded
            context.pointee.extradata_size = Int32(extradata.count)
        }
        context.pointee.lowres = min(lowres, Int32(codec.pointee.max_lowres))
        context.pointee.thread_count = threads
        if skipLoopFilter { context.pointee.skip_loop_filter = AVDISCARD_ALL }
        if greyUntilDecoded { context.pointee.get_buffer2 = greyBuffer }
        let status = avcodec_open2(context, codec, nil)
        guard status >= 0 else {
            throw MediaError(.thumbnail, .decodeFailed("cannot open the \(codecName) decoder: \(averrorText(status))"))
        }
    }

    deinit {
        var context: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&context)
    }

    /// Feeds one compressed picture (nil: no more follow) and hands every picture the decoder outputs meanwhile
    /// to `handle`; a packet's `pts` comes back on the frame it produced.
    func decode(_ packet: Packet?, pts: Int64 = 0, into handle: (Frame) throws(MediaError) -> Void) throws(MediaError) {
        packet?.raw.pointee.pts = pts
        while true {
            let status = avcodec_send_packet(context, packet?.raw)
            guard status >= 0 || status == cffmpeg_averror(EAGAIN) || status == cffmpeg_averror_eof() else {
                throw MediaError(.thumbnail, .corrupt("\(codecName) refused the data: \(averrorText(status))"))
            }
            while let frame = try receive() { try handle(frame) }
            if status != cffmpeg_averror(EAGAIN) { return }
        }
    }

    private func receive() throws(MediaError) -> Frame? {
        let frame = Frame()
        let status = avcodec_receive_frame(context, frame.raw)
        if status == cffmpeg_averror(EAGAIN) || status == cffmpeg_averror_eof() { return nil }
        guard status >= 0 else {
            throw MediaError(.thumbnail, .corrupt("\(codecName) cannot decode the picture: \(averrorText(status))"))
        }
        return frame
    }

    /// Decodes the single picture `packet` holds.
    static func decodeOne(_ packet: Packet, codec: AVCodecID, lowres: Int32 = 0) throws(MediaError) -> Frame {
        let decoder = try PictureDecoder(codec: codec, lowres: lowres, greyUntilDecoded: true)
        var picture: Frame?
        let keepFirst: (Frame) throws(MediaError) -> Void = { frame in if picture == nil { picture = frame } }
        try decoder.decode(packet, into: keepFirst)
        try decoder.decode(nil, into: keepFirst)
        guard let picture else {
            throw MediaError(.thumbnail, .corrupt("\(decoder.codecName) found no picture in the data"))
        }
        return picture
    }
}

/// libavcodec's buffers, filled with 0x80: mid-grey in YUV, grey in RGB and grey formats.
private func greyBuffer(_ context: UnsafeMutablePointer<AVCodecContext>?, _ frame: UnsafeMutablePointer<AVFrame>?,
                        _ flags: Int32) -> Int32 {
    let status = avcodec_default_get_buffer2(context, frame, flags)
    guard status >= 0, let frame else { return status }
    withUnsafeBytes(of: frame.pointee.buf) { buffers in
        for case let buffer? in buffers.bindMemory(to: UnsafeMutablePointer<AVBufferRef>?.self) {
            memset(buffer.pointee.data, 0x80, buffer.pointee.size)
        }
    }
    return status
}

/// An owned `AVFrame`.
final class Frame {
    let raw: UnsafeMutablePointer<AVFrame>

    init() { raw = av_frame_alloc() }
    deinit {
        var frame: UnsafeMutablePointer<AVFrame>? = raw
        av_frame_free(&frame)
    }

    /// Pointer `index` of `AVFrame.data`, which Swift sees as a tuple.
    func plane(_ index: Int) -> UnsafeMutablePointer<UInt8>? {
        withUnsafeBytes(of: raw.pointee.data) { $0.bindMemory(to: UnsafeMutablePointer<UInt8>?.self)[index] }
    }

    func lineSize(_ index: Int) -> Int32 {
        withUnsafeBytes(of: raw.pointee.linesize) { $0.bindMemory(to: Int32.self)[index] }
    }

    /// Points plane `index` at memory someone else owns (the frame then only borrows it).
    func setPlane(_ index: Int, _ pointer: UnsafeMutablePointer<UInt8>?, lineSize: Int32) {
        withUnsafeMutableBytes(of: &raw.pointee.data) { $0.bindMemory(to: UnsafeMutablePointer<UInt8>?.self)[index] = pointer }
        withUnsafeMutableBytes(of: &raw.pointee.linesize) { $0.bindMemory(to: Int32.self)[index] = lineSize }
    }

    /// The ICC profile the decoder found in the file (JPEG APP2, PNG iCCP, WebP ICCP, TIFF tag).
    var iccProfile: [UInt8]? {
        guard let data = av_frame_get_side_data(raw, AV_FRAME_DATA_ICC_PROFILE), data.pointee.size > 0 else { return nil }
        return Array(UnsafeBufferPointer(start: data.pointee.data, count: Int(data.pointee.size)))
    }

    /// The EXIF orientation the decoder read from the file's EXIF block (JPEG APP1, WebP EXIF chunk).
    var exifOrientation: Int? {
        guard let entry = av_dict_get(raw.pointee.metadata, "Orientation", nil, 0) else { return nil }
        return String(cString: entry.pointee.value).split(separator: " ").first.flatMap { Int($0) }
    }
}

/// An owned `AVPacket` with libavcodec's required zeroed padding after the data.
final class Packet {
    let raw: UnsafeMutablePointer<AVPacket>

    init(size: Int) throws(MediaError) {
        guard size >= 0, size <= Int(Int32.max) - Int(AV_INPUT_BUFFER_PADDING_SIZE) else {
            throw MediaError(.thumbnail, .io("\(size) bytes are more than one libavcodec packet holds"))
        }
        guard let packet = av_packet_alloc(), av_new_packet(packet, Int32(size)) >= 0 else {
            throw MediaError(.thumbnail, .io("cannot allocate \(size) bytes"))
        }
        raw = packet
    }
    deinit {
        var packet: UnsafeMutablePointer<AVPacket>? = raw
        av_packet_free(&packet)
    }

    /// The data in place; valid only while the packet lives (use `withExtendedLifetime` when in doubt).
    var bytes: UnsafeMutableBufferPointer<UInt8> { UnsafeMutableBufferPointer(start: raw.pointee.data, count: Int(raw.pointee.size)) }

    /// A copy of the data.
    var contents: [UInt8] { Array(bytes) }
}

func averrorText(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 128)
    av_strerror(code, &buffer, buffer.count)
    return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}
