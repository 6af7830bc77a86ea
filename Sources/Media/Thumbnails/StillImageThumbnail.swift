import CFFmpeg
import CJPEG
import MediaTypes

/// Thumbnails (and a TIFF's rendition) of single-picture files libavcodec decodes whole: JPEG (at reduced size), PNG,
/// GIF, WebP, BMP, TIFF.
enum StillImageThumbnail {
    /// The picture, and whether the file ends before the picture does (a JPEG without its end-of-image marker, a PNG
    /// without its IEND chunk): then the picture shows the part that is there, the rest grey.
    static func make(fileAt path: String, format: MediaFormat, orientation: Int?, size: PictureSize) throws(MediaError) -> (image: RGBImage, partial: Bool) {
        let file = try MediaFile(path: path, stage: .thumbnail)
        // A JPEG is read only up to its end-of-image marker: what follows (a motion photo's video, often as
        // large as the photo) stays on disk. Without one (a truncated file), the whole file is decoded.
        let end = format == .jpeg ? JPEGSegments.endOfImage(from: 0, read: file.view) : nil
        let length = end ?? file.size
        let packet = try file.packet(at: 0, count: Int(length))
        let partial = format == .jpeg ? end == nil : format == .png ? !endsWithIEND(file) : false
        let frame: Frame
        switch format {
        case .jpeg:
            do {
                frame = try decodeJPEG(packet, size: size)
            } catch let error where error.isDamage {
                // libavcodec refuses a JPEG whose scan data is cut short (even with an end-of-image marker after the
                // cut); libjpeg decodes what is there and greys the rest, as vipsthumbnail shows it. It warns when it
                // had to make data up: the picture is then partial.
                guard let (image, warnings) = try decodeDamagedJPEG(packet, size: size, orientation: orientation) else { throw error }
                return (image, partial || warnings > 0)
            }
        case .png: frame = try PictureDecoder.decodeOne(packet, codec: AV_CODEC_ID_PNG)
        case .gif: frame = try PictureDecoder.decodeOne(packet, codec: AV_CODEC_ID_GIF)
        case .webp: frame = try PictureDecoder.decodeOne(AnimatedWebP.firstFrame(of: packet.bytes) ?? packet, codec: AV_CODEC_ID_WEBP)
        case .bmp: frame = try PictureDecoder.decodeOne(packet, codec: AV_CODEC_ID_BMP)
        case .tiff: frame = try PictureDecoder.decodeOne(packet, codec: AV_CODEC_ID_TIFF)
        default: throw MediaError(.thumbnail, .unsupportedFormat(format))
        }
        return (try upright(frame, orientation: orientation, size: size), partial)
    }

    /// Whether a PNG ends with its IEND chunk (length 0, type, CRC).
    static func endsWithIEND(_ file: MediaFile) -> Bool {
        guard file.size >= 12 else { return false }
        return file.read(at: file.size - 12, count: 12) == [0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82]
    }

    /// A JPEG libavcodec refused, decoded by libjpeg at the smallest scale whose long edge still covers `size`, scaled
    /// and turned upright, with the number of libjpeg's warnings; nil when libjpeg cannot read it either.
    static func decodeDamagedJPEG(_ packet: Packet, size: PictureSize, orientation: Int?) throws(MediaError) -> (RGBImage, Int)? {
        var denominator: UInt32 = 1
        if let frame = JPEGFrameHeader(packet.bytes) {
            let longEdge = max(frame.width, frame.height)
            while denominator < 8, (longEdge + Int(denominator) * 2 - 1) / (Int(denominator) * 2) >= size.maxLongEdge { denominator *= 2 }
        }
        var pixels: UnsafeMutablePointer<UInt8>?
        var width: Int32 = 0, height: Int32 = 0, warnings: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = keepsake_jpeg_decode_rgb(packet.bytes.baseAddress, UInt(packet.bytes.count), denominator,
                                              UInt(PictureBudget.decodedBytes / 3), &pixels, &width, &height, &warnings,
                                              &message, message.count)
        guard status == 0, let pixels else { return nil }
        defer { free(pixels) }
        let image = RGBImage(width: Int(width), height: Int(height), bytesPerRow: Int(width) * 3,
                             pixels: Array(UnsafeBufferPointer(start: pixels, count: Int(width) * Int(height) * 3)))
        return (try FrameScaler.rgb(from: image, size: size).applyingOrientation(orientation ?? 1), Int(warnings))
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

private extension MediaError {
    /// The decoder refused the bytes (rather than the memory budget, or the format being unsupported).
    var isDamage: Bool {
        switch reason {
        case .corrupt, .decodeFailed: true
        default: false
        }
    }
}
