import CFFmpeg

/// Converts a picture to packed RGB24 of a given size with swscale: still images for the thumbnail stage,
/// the picked video frame for the stream stage.
enum RGBScaler {
    /// A picture's planes as swscale reads them, and how its samples are meant.
    struct Source {
        var planes: [UnsafePointer<UInt8>?]
        var strides: [Int32]
        var width: Int
        var height: Int
        var format: AVPixelFormat
        /// The YUV matrix (unused for RGB formats).
        var matrix: AVColorSpace
        var fullRange: Bool
    }

    /// `source` as full-range RGB of `width`×`height`, scaled with swscale's `algorithm` (`SWS_AREA`, `SWS_BICUBIC`…).
    /// Pictures with alpha are scaled as RGBA and then laid on white, as a viewer would show them.
    /// Failures are `stage` errors of the kind `reason` makes.
    static func scale(_ source: Source, width: Int, height: Int, algorithm: Int32, stage: MediaError.Stage,
                      reason: (String) -> MediaError.Reason) throws(MediaError) -> RGBImage {
        let hasAlpha = source.format == AV_PIX_FMT_PAL8
            || (av_pix_fmt_desc_get(source.format).map { $0.pointee.flags & UInt64(AV_PIX_FMT_FLAG_ALPHA) != 0 } ?? false)
        let channels = hasAlpha ? 4 : 3
        guard let context = sws_getContext(Int32(source.width), Int32(source.height), source.format,
                                           Int32(width), Int32(height), hasAlpha ? AV_PIX_FMT_RGBA : AV_PIX_FMT_RGB24,
                                           algorithm | SWS_ACCURATE_RND, nil, nil, nil) else {
            throw MediaError(stage, reason("swscale cannot convert \(pixelFormatName(source.format)) to RGB"))
        }
        defer { sws_freeContext(context) }
        sws_setColorspaceDetails(context, sws_getCoefficients(Int32(source.matrix.rawValue)), source.fullRange ? 1 : 0,
                                 sws_getCoefficients(Int32(AVCOL_SPC_BT709.rawValue)), 1, 0, 1 << 16, 1 << 16)
        let bytesPerRow = width * channels
        var pixels = [UInt8](repeating: 0, count: bytesPerRow * height)
        let rows = pixels.withUnsafeMutableBufferPointer { out in
            var destination: [UnsafeMutablePointer<UInt8>?] = [out.baseAddress, nil, nil, nil]
            var destinationStrides: [Int32] = [Int32(bytesPerRow), 0, 0, 0]
            return sws_scale(context, source.planes, source.strides, 0, Int32(source.height), &destination, &destinationStrides)
        }
        guard rows == Int32(height) else {
            throw MediaError(stage, reason("swscale failed (\(rows)) on \(source.width)×\(source.height) \(pixelFormatName(source.format))"))
        }
        if hasAlpha { return flattenedOntoWhite(rgba: pixels, width: width, height: height) }
        return RGBImage(width: width, height: height, bytesPerRow: bytesPerRow, pixels: pixels)
    }

    private static func flattenedOntoWhite(rgba: [UInt8], width: Int, height: Int) -> RGBImage {
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for pixel in 0..<width * height {
            let alpha = Int(rgba[pixel * 4 + 3])
            for channel in 0..<3 {
                rgb[pixel * 3 + channel] = UInt8((Int(rgba[pixel * 4 + channel]) * alpha + 255 * (255 - alpha) + 127) / 255)
            }
        }
        return RGBImage(width: width, height: height, bytesPerRow: width * 3, pixels: rgb)
    }

    private static func pixelFormatName(_ format: AVPixelFormat) -> String {
        av_get_pix_fmt_name(format).map { String(cString: $0) } ?? "pixel format \(format.rawValue)"
    }
}

extension RGBScaler.Source {
    /// `frame`'s planes, with the matrix and range given (a frame's own fields may be unset or deprecated).
    init(_ frame: Frame, format: AVPixelFormat, matrix: AVColorSpace, fullRange: Bool) {
        self.init(planes: (0..<4).map { UnsafePointer(frame.plane($0)) }, strides: (0..<4).map { frame.lineSize($0) },
                  width: Int(frame.pointer.pointee.width), height: Int(frame.pointer.pointee.height),
                  format: format, matrix: matrix, fullRange: fullRange)
    }
}
