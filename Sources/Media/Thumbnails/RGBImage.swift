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
        // Output pixel (x, y) shows stored pixel (x0 + xx·x + xy·y, y0 + yx·x + yy·y).
        let (x0, xx, xy, y0, yx, yy): (Int, Int, Int, Int, Int, Int)
        switch orientation {
        case 2: (x0, xx, xy, y0, yx, yy) = (width - 1, -1, 0, 0, 0, 1)
        case 3: (x0, xx, xy, y0, yx, yy) = (width - 1, -1, 0, height - 1, 0, -1)
        case 4: (x0, xx, xy, y0, yx, yy) = (0, 1, 0, height - 1, 0, -1)
        case 5: (x0, xx, xy, y0, yx, yy) = (0, 0, 1, 0, 1, 0)
        case 6: (x0, xx, xy, y0, yx, yy) = (0, 0, 1, height - 1, -1, 0)
        case 7: (x0, xx, xy, y0, yx, yy) = (width - 1, 0, -1, height - 1, -1, 0)
        case 8: (x0, xx, xy, y0, yx, yy) = (width - 1, 0, -1, 0, 1, 0)
        default: return self
        }
        let outWidth = orientation >= 5 ? height : width
        let outHeight = orientation >= 5 ? width : height
        let origin = y0 * bytesPerRow + x0 * 3
        let stepAcross = yx * bytesPerRow + xx * 3, stepDown = yy * bytesPerRow + xy * 3
        var out = [UInt8](repeating: 0, count: outWidth * outHeight * 3)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<outHeight {
                    var s = origin + y * stepDown, d = y * outWidth * 3
                    for _ in 0..<outWidth {
                        dst[d] = src[s]; dst[d + 1] = src[s + 1]; dst[d + 2] = src[s + 2]
                        s += stepAcross
                        d += 3
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
