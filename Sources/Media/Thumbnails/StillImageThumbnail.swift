import CFFmpeg

/// Thumbnails of single-picture files libavcodec decodes whole: JPEG (at reduced size), PNG, GIF, WebP, BMP, TIFF.
enum StillImageThumbnail {
    static func make(fileAt path: String, format: MediaFormat, orientation: Int?) throws(MediaError) -> RGBImage {
        let packet = try Packet.contents(ofFileAt: path)
        let frame: Frame
        switch format {
        case .jpeg:
            frame = try PictureDecoder.decodeOne(packet, codec: AV_CODEC_ID_MJPEG, lowres: jpegLowres(packet.bytes))
        case .png: frame = try PictureDecoder.decodeOne(packet, codec: AV_CODEC_ID_PNG)
        case .gif: frame = try PictureDecoder.decodeOne(packet, codec: AV_CODEC_ID_GIF)
        case .webp: frame = try PictureDecoder.decodeOne(AnimatedWebP.firstFrame(of: packet.bytes) ?? packet, codec: AV_CODEC_ID_WEBP)
        case .bmp: frame = try PictureDecoder.decodeOne(packet, codec: AV_CODEC_ID_BMP)
        case .tiff: frame = try PictureDecoder.decodeOne(packet, codec: AV_CODEC_ID_TIFF)
        default: throw MediaError(.thumbnail, .unsupportedFormat(format))
        }
        var image = try FrameScaler.thumbnailRGB(from: frame)
        if let profile = frame.iccProfile { image = ColorConverter.toSRGB(image, iccProfile: profile) }
        return image.applyingOrientation(orientation ?? frame.exifOrientation ?? 1)
    }

    /// The largest libavcodec `lowres` (each step halves the size in the DCT) that keeps the long edge ≥ 720.
    static func jpegLowres(_ jpeg: UnsafeMutableBufferPointer<UInt8>) -> Int32 {
        guard let (width, height) = jpegDimensions(jpeg) else { return 0 }
        var lowres: Int32 = 0
        while lowres < 3, (max(width, height) + (1 << (lowres + 1)) - 1) >> (lowres + 1) >= ThumbnailSize.maxLongEdge {
            lowres += 1
        }
        return lowres
    }

    /// The frame size from the first SOF marker, walking the marker segments before it.
    private static func jpegDimensions(_ jpeg: UnsafeMutableBufferPointer<UInt8>) -> (Int, Int)? {
        var offset = 2
        while offset + 9 <= jpeg.count {
            guard jpeg[offset] == 0xFF else { return nil }
            let marker = jpeg[offset + 1]
            if marker == 0xFF { offset += 1; continue }
            let length = Int(jpeg[offset + 2]) << 8 | Int(jpeg[offset + 3])
            let isStartOfFrame = (0xC0...0xCF).contains(marker) && ![0xC4, 0xC8, 0xCC].contains(marker)
            if isStartOfFrame {
                let height = Int(jpeg[offset + 5]) << 8 | Int(jpeg[offset + 6])
                let width = Int(jpeg[offset + 7]) << 8 | Int(jpeg[offset + 8])
                return (width, height)
            }
            if marker == 0xDA { return nil }
            offset += 2 + length
        }
        return nil
    }
}
