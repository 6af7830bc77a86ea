import CFFmpeg

/// Keeps the stream frame the thumbnail is made of: the first at or after 1 s, else the first of all.
/// The frames are the encoder's input (upright, tone-mapped, BT.709 limited range yuv420p), held by reference.
final class ThumbnailPicker {
    static let atSeconds = 1.0
    static let longEdge = 720

    private let frame = Frame()
    private var held = false
    private var settled = false

    /// Looks at a frame on its way to the encoder; `seconds` is its time from the start of the video.
    func offer(_ candidate: UnsafeMutablePointer<AVFrame>, seconds: Double) {
        guard !settled else { return }
        if held && seconds < Self.atSeconds { return }
        av_frame_unref(frame.pointer)
        av_frame_ref(frame.pointer, candidate)
        held = true
        settled = seconds >= Self.atSeconds
    }

    /// The picked frame as RGB24, long edge at most 720; nil when no frame came by.
    func image() throws(MediaError) -> RGBImage? {
        guard held else { return nil }
        let source = frame.pointer.pointee
        let width = Int(source.width), height = Int(source.height)
        let factor = min(1, Double(Self.longEdge) / Double(max(width, height)))
        let outWidth = max(1, Int((Double(width) * factor).rounded()))
        let outHeight = max(1, Int((Double(height) * factor).rounded()))

        guard let scaler = sws_getContext(source.width, source.height, AVPixelFormat(source.format),
                                          Int32(outWidth), Int32(outHeight), AV_PIX_FMT_RGB24,
                                          SWS_BICUBIC | SWS_ACCURATE_RND, nil, nil, nil) else {
            throw MediaError(.stream, .encodeFailed("no scaler for the thumbnail frame"))
        }
        defer { sws_freeContext(scaler) }
        let bt709 = sws_getCoefficients(SWS_CS_ITU709)
        sws_setColorspaceDetails(scaler, bt709, 0, bt709, 1, 0, 1 << 16, 1 << 16)

        let bytesPerRow = outWidth * 3
        var pixels = [UInt8](repeating: 0, count: bytesPerRow * outHeight)
        let rows = pixels.withUnsafeMutableBufferPointer { buffer in
            var planes: [UnsafeMutablePointer<UInt8>?] = [buffer.baseAddress, nil, nil, nil]
            var strides: [Int32] = [Int32(bytesPerRow), 0, 0, 0]
            return withUnsafePointer(to: frame.pointer.pointee.data) { data in
                withUnsafePointer(to: frame.pointer.pointee.linesize) { linesize in
                    data.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { sourcePlanes in
                        linesize.withMemoryRebound(to: Int32.self, capacity: 8) { sourceStrides in
                            sws_scale(scaler, sourcePlanes, sourceStrides, 0, source.height, &planes, &strides)
                        }
                    }
                }
            }
        }
        guard rows == outHeight else { throw MediaError(.stream, .encodeFailed("thumbnail conversion failed")) }
        return RGBImage(width: outWidth, height: outHeight, bytesPerRow: bytesPerRow, pixels: pixels)
    }
}
