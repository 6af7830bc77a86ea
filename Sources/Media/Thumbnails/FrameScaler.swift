import CFFmpeg

/// Converts decoded pictures to packed RGB24 at thumbnail (or rendition) size.
enum FrameScaler {
    /// `frame` converted to RGB and scaled to fit `size`, honouring its YUV matrix and range.
    static func rgb(from picture: Frame, size: PictureSize = .thumbnail) throws(MediaError) -> RGBImage {
        let frame = picture.pointer
        let width = Int(frame.pointee.width), height = Int(frame.pointee.height)
        guard width > 0, height > 0 else { throw MediaError(.thumbnail, .decodeFailed("decoder produced an empty picture")) }
        let (format, fullRange) = normalised(AVPixelFormat(frame.pointee.format), range: frame.pointee.color_range)
        let source = RGBScaler.Source(picture, format: format, matrix: matrix(frame.pointee.colorspace), fullRange: fullRange)
        return try scale(source, size: size)
    }

    /// `image` scaled to fit `size` (the image itself when already small enough).
    static func rgb(from image: RGBImage, size: PictureSize = .thumbnail) throws(MediaError) -> RGBImage {
        guard image.width > 0, image.height > 0, image.bytesPerRow >= image.width * 3,
              image.pixels.count >= image.bytesPerRow * (image.height - 1) + image.width * 3 else {
            throw MediaError(.thumbnail, .encodeFailed("RGB image of \(image.width)×\(image.height) has too few pixels"))
        }
        let target = size.fitting(width: image.width, height: image.height)
        guard target != (image.width, image.height) else { return image }
        return try image.pixels.withUnsafeBufferPointer { (pixels) throws(MediaError) -> RGBImage in
            try scale(RGBScaler.Source(planes: [pixels.baseAddress, nil, nil, nil], strides: [Int32(image.bytesPerRow), 0, 0, 0],
                                       width: image.width, height: image.height, format: AV_PIX_FMT_RGB24,
                                       matrix: matrix(AVCOL_SPC_RGB), fullRange: true), size: size)
        }
    }

    private static func scale(_ source: RGBScaler.Source, size: PictureSize) throws(MediaError) -> RGBImage {
        let target = size.fitting(width: source.width, height: source.height)
        return try RGBScaler.scale(source, width: target.width, height: target.height, algorithm: SWS_AREA,
                                   stage: .thumbnail, reason: MediaError.Reason.decodeFailed)
    }

    /// Pictures that do not say their matrix are taken as BT.601, as JPEG's are.
    private static func matrix(_ colorspace: AVColorSpace) -> AVColorSpace {
        colorspace == AVCOL_SPC_UNSPECIFIED || colorspace == AVCOL_SPC_RGB ? AVCOL_SPC_BT470BG : colorspace
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
}
