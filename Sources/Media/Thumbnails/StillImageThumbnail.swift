import CFFmpeg
import MediaTypes

/// Thumbnails (and a TIFF's rendition) of single-picture files libavcodec decodes whole: JPEG (at reduced size), PNG,
/// GIF, WebP, BMP, TIFF.
enum StillImageThumbnail {
    static func make(fileAt path: String, format: MediaFormat, orientation: Int?, size: PictureSize) throws(MediaError) -> RGBImage {
        let file = try MediaFile(path: path, stage: .thumbnail)
        // A JPEG is read only up to its end-of-image marker: what follows (a motion photo's video, often as
        // large as the photo) stays on disk. Without one (a truncated file), the whole file is decoded.
        let length = format == .jpeg ? JPEGSegments.endOfImage(from: 0, read: file.view) ?? file.size : file.size
        let packet = try file.packet(at: 0, count: Int(length))
        let frame: Frame
        switch format {
        case .jpeg: frame = try decodeJPEG(packet, size: size)
        case .png: frame = try PictureDecoder.decodeOne(packet, codec: AV_CODEC_ID_PNG)
        case .gif: frame = try PictureDecoder.decodeOne(packet, codec: AV_CODEC_ID_GIF)
        case .webp: frame = try PictureDecoder.decodeOne(AnimatedWebP.firstFrame(of: packet.bytes) ?? packet, codec: AV_CODEC_ID_WEBP)
        case .bmp: frame = try PictureDecoder.decodeOne(packet, codec: AV_CODEC_ID_BMP)
        case .tiff: frame = try PictureDecoder.decodeOne(packet, codec: AV_CODEC_ID_TIFF)
        default: throw MediaError(.thumbnail, .unsupportedFormat(format))
        }
        return try upright(frame, orientation: orientation, size: size)
    }

    /// `frame` scaled to fit `size`, converted to sRGB from its ICC profile, and turned upright by `orientation`,
    /// else by the EXIF orientation the decoder read.
    static func upright(_ frame: Frame, orientation: Int?, size: PictureSize) throws(MediaError) -> RGBImage {
        var image = try FrameScaler.rgb(from: frame, size: size)
        if let profile = frame.iccProfile { image = ColorConverter.toSRGB(image, iccProfile: profile) }
        return image.applyingOrientation(orientation ?? frame.exifOrientation ?? 1)
    }

    /// Decodes a JPEG at the smallest size libavcodec's `lowres` (each step halves the size in the DCT)
    /// offers with the long edge still at least that of `size`.
    static func decodeJPEG(_ packet: Packet, size: PictureSize) throws(MediaError) -> Frame {
        var lowres: Int32 = 0
        if let frame = JPEGFrameHeader(packet.bytes) {
            let longEdge = max(frame.width, frame.height)
            while lowres < 3, (longEdge + (1 << (lowres + 1)) - 1) >> (lowres + 1) >= size.maxLongEdge { lowres += 1 }
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
}

extension JPEGFrameHeader {
    init?<Bytes: RandomAccessCollection<UInt8>>(_ jpeg: Bytes) where Bytes.Index == Int {
        guard jpeg.count >= 4, jpeg[jpeg.startIndex] == 0xFF, jpeg[jpeg.startIndex + 1] == 0xD8 else { return nil }
        func read(_ offset: UInt64, _ count: Int) -> ByteView { ByteView.window(of: jpeg, at: offset, count: count) }
        var found: JPEGFrameHeader?
        JPEGSegments.walk(from: 0, read: read) { segment in
            guard segment.isFrameHeader else { return true }
            // Precision, height, width, number of components.
            let frame = read(segment.payloadOffset, 6)
            if let height = frame.uint16BE(1), let width = frame.uint16BE(3), let components = frame.uint8(5) {
                found = JPEGFrameHeader(width: Int(width), height: Int(height), components: Int(components), marker: segment.marker)
            }
            return false
        }
        guard let found else { return nil }
        self = found
    }
}
