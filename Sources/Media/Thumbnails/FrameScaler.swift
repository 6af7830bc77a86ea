import CFFmpeg

/// Converts decoded pictures to packed RGB24 at thumbnail size with swscale.
enum FrameScaler {
    /// `frame` converted to RGB and scaled to `ThumbnailSize.fitting`, honouring its YUV matrix and range.
    static func thumbnailRGB(from picture: Frame) throws(MediaError) -> RGBImage {
        let frame = picture.pointer
        let width = Int(frame.pointee.width), height = Int(frame.pointee.height)
        guard width > 0, height > 0 else { throw MediaError(.thumbnail, .decodeFailed("decoder produced an empty picture")) }
        let (format, fullRange) = normalised(AVPixelFormat(frame.pointee.format), range: frame.pointee.color_range)
        let source = SourcePlanes(
            planes: (0..<4).map { UnsafePointer(picture.plane($0)) },
            strides: (0..<4).map { picture.lineSize($0) })
        return try scale(source, width: width, height: height, format: format, fullRange: fullRange,
                         colorspace: frame.pointee.colorspace)
    }

    /// `image` scaled to `ThumbnailSize.fitting` (the image itself when already small enough).
    static func thumbnailRGB(from image: RGBImage) throws(MediaError) -> RGBImage {
        guard image.width > 0, image.height > 0, image.bytesPerRow >= image.width * 3,
              image.pixels.count >= image.bytesPerRow * (image.height - 1) + image.width * 3 else {
            throw MediaError(.thumbnail, .encodeFailed("RGB image of \(image.width)×\(image.height) has too few pixels"))
        }
        let target = ThumbnailSize.fitting(width: image.width, height: image.height)
        guard target != (image.width, image.height) else { return image }
        return try image.pixels.withUnsafeBufferPointer { (pixels) throws(MediaError) -> RGBImage in
            let source = SourcePlanes(planes: [pixels.baseAddress, nil, nil, nil], strides: [Int32(image.bytesPerRow), 0, 0, 0])
            return try scale(source, width: image.width, height: image.height, format: AV_PIX_FMT_RGB24,
                             fullRange: true, colorspace: AVCOL_SPC_RGB)
        }
    }

    private struct SourcePlanes {
        var planes: [UnsafePointer<UInt8>?]
        var strides: [Int32]
    }

    /// Pictures with alpha are scaled as RGBA and then laid on white, as a viewer would show them.
    private static func scale(_ source: SourcePlanes, width: Int, height: Int, format: AVPixelFormat, fullRange: Bool,
                              colorspace: AVColorSpace) throws(MediaError) -> RGBImage {
        let target = ThumbnailSize.fitting(width: width, height: height)
        let hasAlpha = format == AV_PIX_FMT_PAL8 || (av_pix_fmt_desc_get(format).map { $0.pointee.flags & UInt64(AV_PIX_FMT_FLAG_ALPHA) != 0 } ?? false)
        let channels = hasAlpha ? 4 : 3
        guard let context = sws_getContext(Int32(width), Int32(height), format,
                                           Int32(target.width), Int32(target.height), hasAlpha ? AV_PIX_FMT_RGBA : AV_PIX_FMT_RGB24,
                                           SWS_AREA | SWS_ACCURATE_RND, nil, nil, nil) else {
            throw MediaError(.thumbnail, .decodeFailed("swscale cannot convert \(pixelFormatName(format)) to RGB"))
        }
        defer { sws_freeContext(context) }
        let matrix = colorspace == AVCOL_SPC_UNSPECIFIED || colorspace == AVCOL_SPC_RGB ? AVCOL_SPC_BT470BG : colorspace
        let coefficients = sws_getCoefficients(Int32(matrix.rawValue))
        sws_setColorspaceDetails(context, coefficients, fullRange ? 1 : 0, sws_getCoefficients(Int32(AVCOL_SPC_BT709.rawValue)),
                                 1, 0, 1 << 16, 1 << 16)
        let bytesPerRow = target.width * channels
        var pixels = [UInt8](repeating: 0, count: bytesPerRow * target.height)
        let rows = pixels.withUnsafeMutableBufferPointer { out in
            var destination: [UnsafeMutablePointer<UInt8>?] = [out.baseAddress, nil, nil, nil]
            var destinationStrides: [Int32] = [Int32(bytesPerRow), 0, 0, 0]
            return sws_scale(context, source.planes, source.strides, 0, Int32(height), &destination, &destinationStrides)
        }
        guard rows == Int32(target.height) else {
            throw MediaError(.thumbnail, .decodeFailed("swscale failed (\(rows)) on \(width)×\(height) \(pixelFormatName(format))"))
        }
        if hasAlpha { return flattenedOntoWhite(rgba: pixels, width: target.width, height: target.height) }
        return RGBImage(width: target.width, height: target.height, bytesPerRow: bytesPerRow, pixels: pixels)
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

    /// JPEG decoders report the deprecated full-range `yuvj*` formats; swscale wants the plain format plus a range flag.
    private static func normalised(_ format: AVPixelFormat, range: AVColorRange) -> (AVPixelFormat, fullRange: Bool) {
        switch format {
        case AV_PIX_FMT_YUVJ420P: (AV_PIX_FMT_YUV420P, true)
        case AV_PIX_FMT_YUVJ422P: (AV_PIX_FMT_YUV422P, true)
        case AV_PIX_FMT_YUVJ444P: (AV_PIX_FMT_YUV444P, true)
        case AV_PIX_FMT_YUVJ440P: (AV_PIX_FMT_YUV440P, true)
        case AV_PIX_FMT_YUVJ411P: (AV_PIX_FMT_YUV411P, true)
        default: (format, range == AVCOL_RANGE_JPEG)
        }
    }

    static func pixelFormatName(_ format: AVPixelFormat) -> String {
        av_get_pix_fmt_name(format).map { String(cString: $0) } ?? "pixel format \(format.rawValue)"
    }
}
