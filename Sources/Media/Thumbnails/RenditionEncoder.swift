/// The large JPEG a browser shows in place of a photo it cannot display (HEIC, RAW, TIFF).
enum RenditionEncoder {
    /// Quality 85: sharp full-screen at 2048 px; 190–690 KB for the corpus's HEIC photos.
    static let quality: Int32 = 85

    /// `image` (upright, sRGB) scaled to a long edge of at most 2048 (never up) and encoded as JPEG.
    static func jpeg(from image: RGBImage) throws(MediaError) -> [UInt8] {
        ThumbnailEncoder.encode(try FrameScaler.rgb(from: image, size: .rendition), quality: quality)
    }
}
