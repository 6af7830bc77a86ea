/// How large a picture is made: its long edge at most `maxLongEdge`, never upscaled.
struct PictureSize: Sendable, Equatable {
    let maxLongEdge: Int

    /// Thumbnails: long edge at most 720 px.
    static let thumbnail = PictureSize(maxLongEdge: 720)
    /// Renditions of photos a browser does not show (HEIC, RAW, TIFF): long edge at most 2048 px.
    static let rendition = PictureSize(maxLongEdge: 2048)

    /// The size a `width`×`height` picture is scaled to.
    func fitting(width: Int, height: Int) -> (width: Int, height: Int) {
        let longEdge = max(width, height)
        guard longEdge > maxLongEdge else { return (width, height) }
        let scale = Double(maxLongEdge) / Double(longEdge)
        return (max(1, Int((Double(width) * scale).rounded())), max(1, Int((Double(height) * scale).rounded())))
    }
}
