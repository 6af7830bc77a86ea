/// The thumbnail's size rule: long edge at most 720 px, never upscaled.
enum ThumbnailSize {
    static let maxLongEdge = 720

    /// The size a `width`×`height` picture is scaled to.
    static func fitting(width: Int, height: Int) -> (width: Int, height: Int) {
        let longEdge = max(width, height)
        guard longEdge > maxLongEdge else { return (width, height) }
        let scale = Double(maxLongEdge) / Double(longEdge)
        return (max(1, Int((Double(width) * scale).rounded())), max(1, Int((Double(height) * scale).rounded())))
    }
}
