import CFFmpeg

/// Thumbnails of single-picture files libavcodec decodes whole: JPEG (at reduced size), PNG, GIF, WebP, BMP, TIFF.
enum StillImageThumbnail {
    static func make(fileAt path: String, format: MediaFormat, orientation: Int?) throws(MediaError) -> RGBImage {
        let file = try ImageFile(path: path)
        if format == .jpeg { return try uprightThumbnail(of: decodeJPEG(JPEGStream.read(from: file)), orientation: orientation) }
        let packet = try file.read(at: 0, count: file.size)
        let frame: Frame
        switch format {
        case .png: frame = try PictureDecoder.decodeOne(packet, codec: AV_CODEC_ID_PNG)
        case .gif: frame = try PictureDecoder.decodeOne(packet, codec: AV_CODEC_ID_GIF)
        case .webp: frame = try PictureDecoder.decodeOne(AnimatedWebP.firstFrame(of: packet.bytes) ?? packet, codec: AV_CODEC_ID_WEBP)
        case .bmp: frame = try PictureDecoder.decodeOne(packet, codec: AV_CODEC_ID_BMP)
        case .tiff: frame = try PictureDecoder.decodeOne(packet, codec: AV_CODEC_ID_TIFF)
        default: throw MediaError(.thumbnail, .unsupportedFormat(format))
        }
        return try uprightThumbnail(of: frame, orientation: orientation)
    }

    /// `frame` scaled, converted to sRGB from its ICC profile, and turned upright by `orientation`, else by
    /// the EXIF orientation the decoder read.
    static func uprightThumbnail(of frame: Frame, orientation: Int?) throws(MediaError) -> RGBImage {
        var image = try FrameScaler.thumbnailRGB(from: frame)
        if let profile = frame.iccProfile { image = ColorConverter.toSRGB(image, iccProfile: profile) }
        return image.applyingOrientation(orientation ?? frame.exifOrientation ?? 1)
    }

    /// Decodes a JPEG at the smallest size libavcodec's `lowres` (each step halves the size in the DCT)
    /// offers with the long edge still ≥ 720.
    static func decodeJPEG(_ packet: Packet) throws(MediaError) -> Frame {
        var lowres: Int32 = 0
        if let frame = JPEGFrameHeader(packet.bytes) {
            let longEdge = max(frame.width, frame.height)
            while lowres < 3, (longEdge + (1 << (lowres + 1)) - 1) >> (lowres + 1) >= ThumbnailSize.maxLongEdge { lowres += 1 }
        }
        return try PictureDecoder.decodeOne(packet, codec: AV_CODEC_ID_MJPEG, lowres: lowres)
    }
}

/// A JPEG's first start-of-frame segment, found by walking the marker segments before it.
struct JPEGFrameHeader {
    var width: Int
    var height: Int
    var components: Int
    /// 0xC0 baseline, 0xC1 extended, 0xC2 progressive, 0xC3 lossless (RAW sensor data), ...
    var marker: UInt8

    init?<Bytes: RandomAccessCollection<UInt8>>(_ jpeg: Bytes) where Bytes.Index == Int {
        guard jpeg.count >= 4, jpeg[jpeg.startIndex] == 0xFF, jpeg[jpeg.startIndex + 1] == 0xD8 else { return nil }
        var offset = jpeg.startIndex + 2
        while offset + 10 <= jpeg.endIndex {
            guard jpeg[offset] == 0xFF else { return nil }
            let marker = jpeg[offset + 1]
            if marker == 0xFF { offset += 1; continue }
            if (0xC0...0xCF).contains(marker) && ![0xC4, 0xC8, 0xCC].contains(marker) {
                height = Int(jpeg[offset + 5]) << 8 | Int(jpeg[offset + 6])
                width = Int(jpeg[offset + 7]) << 8 | Int(jpeg[offset + 8])
                components = Int(jpeg[offset + 9])
                self.marker = marker
                return
            }
            if marker == 0xDA { return nil }
            offset += 2 + (Int(jpeg[offset + 2]) << 8 | Int(jpeg[offset + 3]))
        }
        return nil
    }
}
