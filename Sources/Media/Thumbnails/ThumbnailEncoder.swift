import CJPEG
import Glibc

public enum ThumbnailEncoder {
    static let maxBytes = 100 * 1024
    /// Quality 70, lowered in steps to 50 while the JPEG is over `maxBytes`.
    static let qualityLadder: [Int32] = [70, 65, 60, 55, 50]

    /// Scales `image` to a long edge of at most 720 (never up) and encodes it as JPEG, quality 70 lowered
    /// in steps to 50 while the result is over 100 KB.
    public static func jpeg(from image: RGBImage) throws(MediaError) -> [UInt8] {
        let small = try FrameScaler.rgb(from: image)
        var lastSize = 0
        for quality in qualityLadder {
            let bytes = encode(small, quality: quality)
            if bytes.count <= maxBytes { return bytes }
            lastSize = bytes.count
        }
        throw MediaError(.thumbnail, .encodeFailed("JPEG is \(lastSize) bytes at quality \(qualityLadder.last!), over \(maxBytes)"))
    }

    /// Baseline JPEG with optimised Huffman tables. `image` must hold `height` rows of `width` RGB pixels,
    /// which `FrameScaler` guarantees.
    static func encode(_ image: RGBImage, quality: Int32) -> [UInt8] {
        let compressor = UnsafeMutablePointer<jpeg_compress_struct>.allocate(capacity: 1)
        let errors = UnsafeMutablePointer<jpeg_error_mgr>.allocate(capacity: 1)
        compressor.initialize(to: jpeg_compress_struct())
        errors.initialize(to: jpeg_error_mgr())
        defer { compressor.deallocate(); errors.deallocate() }

        compressor.pointee.err = jpeg_std_error(errors)
        // libjpeg's default exits the process. Compressing valid RGB rows into memory raises errors only on
        // misuse or out-of-memory, which no caller can handle, so this stops with the message instead.
        errors.pointee.error_exit = { info in
            var message = [CChar](repeating: 0, count: Int(JMSG_LENGTH_MAX))
            info?.pointee.err.pointee.format_message(info, &message)
            fatalError("libjpeg compressor: \(message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })")
        }
        jpeg_CreateCompress(compressor, JPEG_LIB_VERSION, MemoryLayout<jpeg_compress_struct>.size)
        defer { jpeg_destroy_compress(compressor) }

        var buffer: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        jpeg_mem_dest(compressor, &buffer, &size)
        compressor.pointee.image_width = JDIMENSION(image.width)
        compressor.pointee.image_height = JDIMENSION(image.height)
        compressor.pointee.input_components = 3
        compressor.pointee.in_color_space = JCS_RGB
        jpeg_set_defaults(compressor)
        jpeg_set_quality(compressor, quality, 1)
        compressor.pointee.optimize_coding = 1
        jpeg_start_compress(compressor, 1)
        image.pixels.withUnsafeBufferPointer { pixels in
            while compressor.pointee.next_scanline < compressor.pointee.image_height {
                var row: JSAMPROW? = UnsafeMutablePointer(mutating: pixels.baseAddress! + Int(compressor.pointee.next_scanline) * image.bytesPerRow)
                jpeg_write_scanlines(compressor, &row, 1)
            }
        }
        jpeg_finish_compress(compressor)
        defer { free(buffer) }
        return Array(UnsafeBufferPointer(start: buffer, count: Int(size)))
    }
}
