/// An 8-bit RGB image in memory (3 bytes a pixel, rows `bytesPerRow` apart), upright, sRGB.
public struct RGBImage: Sendable {
    public var width: Int
    public var height: Int
    public var bytesPerRow: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, bytesPerRow: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.bytesPerRow = bytesPerRow
        self.pixels = pixels
    }
}

extension RGBImage {
    /// The image as EXIF `orientation` (1...8) says to display it; other values leave it as it is.
    func applyingOrientation(_ orientation: Int) -> RGBImage {
        guard (2...8).contains(orientation) else { return self }
        let swapsAxes = orientation >= 5
        let outWidth = swapsAxes ? height : width
        let outHeight = swapsAxes ? width : height
        var out = [UInt8](repeating: 0, count: outWidth * outHeight * 3)
        // For each output pixel (x, y), the stored pixel it shows.
        let source: (Int, Int) -> (Int, Int) = switch orientation {
        case 2: { x, y in (width - 1 - x, y) }
        case 3: { x, y in (width - 1 - x, height - 1 - y) }
        case 4: { x, y in (x, height - 1 - y) }
        case 5: { x, y in (y, x) }
        case 6: { x, y in (y, height - 1 - x) }
        case 7: { x, y in (width - 1 - y, height - 1 - x) }
        default: { x, y in (width - 1 - y, x) }  // 8
        }
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<outHeight {
                    for x in 0..<outWidth {
                        let (sx, sy) = source(x, y)
                        let s = sy * bytesPerRow + sx * 3, d = (y * outWidth + x) * 3
                        dst[d] = src[s]; dst[d + 1] = src[s + 1]; dst[d + 2] = src[s + 2]
                    }
                }
            }
        }
        return RGBImage(width: outWidth, height: outHeight, bytesPerRow: outWidth * 3, pixels: out)
    }

    /// The image rotated `quarterTurns` × 90° anticlockwise, then mirrored (HEIF `irot`, `imir`).
    func rotatedAnticlockwise(quarterTurns: Int) -> RGBImage {
        // EXIF 8 turns the stored image 90° anticlockwise for display, 3 turns it 180°, 6 turns it 90° clockwise.
        switch quarterTurns & 3 {
        case 1: applyingOrientation(8)
        case 2: applyingOrientation(3)
        case 3: applyingOrientation(6)
        default: self
        }
    }

    /// The image mirrored left-right (`horizontally`) or top-bottom.
    func mirrored(horizontally: Bool) -> RGBImage {
        applyingOrientation(horizontally ? 2 : 4)
    }
}
