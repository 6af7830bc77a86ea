import CLCMS2

/// Converts small RGB images to sRGB with lcms2.
enum ColorConverter {
    // lcms2's TYPE_RGB_8 is a macro Swift cannot import.
    private static let rgb8Format: UInt32 = (4 << 16) | (3 << 3) | 1

    /// `image` converted from the embedded `iccProfile` to sRGB; unchanged when the profile is not an RGB one
    /// lcms2 can read (the pixels are then shown as if sRGB, which is what browsers do too).
    static func toSRGB(_ image: RGBImage, iccProfile: [UInt8]) -> RGBImage {
        let profile = iccProfile.withUnsafeBytes { cmsOpenProfileFromMem($0.baseAddress, cmsUInt32Number($0.count)) }
        guard let profile else { return image }
        defer { cmsCloseProfile(profile) }
        return convert(image, from: profile)
    }

    /// `image` converted from Display P3 (what HEIF `nclx` colour primaries 12 mean) to sRGB.
    static func displayP3ToSRGB(_ image: RGBImage) -> RGBImage {
        var whitePoint = cmsCIExyY(x: 0.3127, y: 0.3290, Y: 1)
        var primaries = cmsCIExyYTRIPLE(Red: cmsCIExyY(x: 0.680, y: 0.320, Y: 1),
                                        Green: cmsCIExyY(x: 0.265, y: 0.690, Y: 1),
                                        Blue: cmsCIExyY(x: 0.150, y: 0.060, Y: 1))
        // The sRGB transfer curve (IEC 61966-2-1), as lcms2's parametric curve type 4.
        let parameters: [Double] = [2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045]
        guard let curve = cmsBuildParametricToneCurve(nil, 4, parameters) else { return image }
        defer { cmsFreeToneCurve(curve) }
        var curves: [OpaquePointer?] = [curve, curve, curve]
        guard let profile = cmsCreateRGBProfile(&whitePoint, &primaries, &curves) else { return image }
        defer { cmsCloseProfile(profile) }
        return convert(image, from: profile)
    }

    private static func convert(_ image: RGBImage, from profile: cmsHPROFILE) -> RGBImage {
        guard cmsGetColorSpace(profile) == cmsSigRgbData, let sRGB = cmsCreate_sRGBProfile() else { return image }
        defer { cmsCloseProfile(sRGB) }
        guard let transform = cmsCreateTransform(profile, rgb8Format, sRGB, rgb8Format, UInt32(INTENT_PERCEPTUAL), 0) else {
            return image
        }
        defer { cmsDeleteTransform(transform) }
        var out = image
        out.pixels.withUnsafeMutableBytes { pixels in
            for row in 0..<image.height {
                let line = pixels.baseAddress! + row * image.bytesPerRow
                cmsDoTransform(transform, line, line, cmsUInt32Number(image.width))
            }
        }
        return out
    }
}
