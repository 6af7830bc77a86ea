import CFFmpeg

/// An owned `AVFrame`.
final class Frame {
    let pointer: UnsafeMutablePointer<AVFrame>

    init() { pointer = av_frame_alloc() }
    deinit {
        var frame: UnsafeMutablePointer<AVFrame>? = pointer
        av_frame_free(&frame)
    }

    /// Pointer `index` of `AVFrame.data`, which Swift sees as a tuple.
    func plane(_ index: Int) -> UnsafeMutablePointer<UInt8>? {
        withUnsafeBytes(of: pointer.pointee.data) { $0.bindMemory(to: UnsafeMutablePointer<UInt8>?.self)[index] }
    }

    func lineSize(_ index: Int) -> Int32 {
        withUnsafeBytes(of: pointer.pointee.linesize) { $0.bindMemory(to: Int32.self)[index] }
    }

    /// Points plane `index` at memory someone else owns (the frame then only borrows it).
    func setPlane(_ index: Int, _ plane: UnsafeMutablePointer<UInt8>?, lineSize: Int32) {
        withUnsafeMutableBytes(of: &pointer.pointee.data) { $0.bindMemory(to: UnsafeMutablePointer<UInt8>?.self)[index] = plane }
        withUnsafeMutableBytes(of: &pointer.pointee.linesize) { $0.bindMemory(to: Int32.self)[index] = lineSize }
    }

    /// The ICC profile the decoder found in the file (JPEG APP2, PNG iCCP, WebP ICCP, TIFF tag).
    var iccProfile: [UInt8]? {
        guard let data = av_frame_get_side_data(pointer, AV_FRAME_DATA_ICC_PROFILE), data.pointee.size > 0 else { return nil }
        return Array(UnsafeBufferPointer(start: data.pointee.data, count: Int(data.pointee.size)))
    }

    /// The EXIF orientation the decoder read from the file's EXIF block (JPEG APP1, WebP EXIF chunk).
    var exifOrientation: Int? {
        guard let entry = av_dict_get(pointer.pointee.metadata, "Orientation", nil, 0) else { return nil }
        return String(cString: entry.pointee.value).split(separator: " ").first.flatMap { Int($0) }
    }
}
