import CFFmpeg

/// How much memory one still picture may take while its thumbnail is made. A picture above it gets no thumbnail
/// but a problem that says why, and its original is stored like any other; so a worker stays bounded whatever it
/// is handed: a film scan, a gigapixel panorama, a decompression bomb.
enum PictureBudget {
    /// The compressed bytes of one picture, which libavcodec's decoders take whole (a 100 MP camera JPEG is ~60 MB).
    static let compressedBytes = 256 << 20
    /// One decoded picture: a 400 MP 8-bit 4:2:0 grid, 200 MP of 8-bit RGB, or 80 MP of 16-bit RGBA.
    static let decodedBytes = 640 << 20

    static func checkCompressed(_ count: Int) throws(MediaError) {
        guard count <= compressedBytes else {
            throw MediaError(.thumbnail, .tooLarge(
                "the picture's data is \(mebibytes(count)), more than the \(mebibytes(compressedBytes)) one thumbnail may read"))
        }
    }

    static func fits(width: Int, height: Int, format: AVPixelFormat) -> Bool {
        guard width > 0, height > 0, width <= Int(Int32.max), height <= Int(Int32.max) else { return false }
        // Negative when the size does not fit in 31 bits, which is over the budget anyway.
        let size = av_image_get_buffer_size(format, Int32(width), Int32(height), 1)
        return size >= 0 && Int(size) <= decodedBytes
    }

    static func checkDecoded(width: Int, height: Int, format: AVPixelFormat) throws(MediaError) {
        guard fits(width: width, height: height, format: format) else { throw decodedTooLarge(width: width, height: height) }
    }

    static func decodedTooLarge(width: Int, height: Int) -> MediaError {
        MediaError(.thumbnail, .tooLarge(
            "a \(width)×\(height) picture takes more than the \(mebibytes(decodedBytes)) one thumbnail may decode"))
    }

    private static func mebibytes(_ count: Int) -> String { "\((count + (1 << 20) - 1) >> 20) MiB" }
}
