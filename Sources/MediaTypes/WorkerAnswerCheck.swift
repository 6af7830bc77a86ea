/// What the process holding the keys checks of a media worker's answers before it seals and stores them: a worker
/// may be run by a hostile file, so an answer that is not what was asked for fails the file.
public enum WorkerAnswerCheck {
    /// The thumbnail rule (`Media.ThumbnailSize`, `ThumbnailEncoder`): long edge at most 720, at most 100 KB (with room).
    public static let thumbnailLongEdge = 720
    public static let thumbnailBytes = 512 * 1024
    /// The rendition rule (`Media.PictureSize.rendition`, `RenditionEncoder`): long edge at most 2048, and bytes with
    /// room over the worst a quality-85 JPEG of that size takes (690 KB for the corpus's HEIC, a few MB for noise).
    public static let renditionLongEdge = 2048
    public static let renditionBytes = 8 << 20

    /// Why `jpeg` is not a whole JPEG of at most `maxLongEdge` pixels a side and `maxBytes` bytes; nil when it is. Reads
    /// the markers up to the frame header (SOF) only.
    public static func problem(withJPEG jpeg: [UInt8], maxLongEdge: Int = thumbnailLongEdge, maxBytes: Int = thumbnailBytes) -> String? {
        guard jpeg.count <= maxBytes else { return "\(jpeg.count) bytes, over \(maxBytes)" }
        guard jpeg.count >= 4, jpeg[0] == 0xFF, jpeg[1] == 0xD8 else { return "no JPEG start of image" }
        guard jpeg[jpeg.count - 2] == 0xFF, jpeg[jpeg.count - 1] == 0xD9 else { return "no JPEG end of image" }
        var at = 2
        while at + 4 <= jpeg.count {
            guard jpeg[at] == 0xFF else { return "no JPEG marker at byte \(at)" }
            let marker = jpeg[at + 1]
            if marker == 0xFF { at += 1; continue }  // fill byte
            if marker == 0x01 || (0xD0...0xD7).contains(marker) { at += 2; continue }  // markers without a length
            if marker == 0xD9 || marker == 0xDA { return "no JPEG frame header before the image data" }
            let length = Int(jpeg[at + 2]) << 8 | Int(jpeg[at + 3])
            guard length >= 2, at + 2 + length <= jpeg.count else { return "a JPEG segment runs past the end" }
            if (0xC0...0xCF).contains(marker) && ![0xC4, 0xC8, 0xCC].contains(marker) {
                guard length >= 7 else { return "a JPEG frame header too short" }
                let height = Int(jpeg[at + 5]) << 8 | Int(jpeg[at + 6]), width = Int(jpeg[at + 7]) << 8 | Int(jpeg[at + 8])
                guard width > 0, height > 0 else { return "a JPEG of \(width)×\(height)" }
                guard max(width, height) <= maxLongEdge else { return "a JPEG of \(width)×\(height), over \(maxLongEdge) a side" }
                return nil
            }
            at += 2 + length
        }
        return "no JPEG frame header"
    }

    /// Why `metadata` (of a file of `fileSize` bytes) holds a value no file can: a type or range out of bounds.
    public static func problem(with metadata: MediaMetadata, fileSize: Int64) -> String? {
        func outside<T: Comparable>(_ value: T?, _ range: ClosedRange<T>) -> Bool { value.map { !range.contains($0) } ?? false }
        func unfit(_ value: Double?, _ range: ClosedRange<Double>) -> Bool { value.map { !$0.isFinite || !range.contains($0) } ?? false }
        if outside(metadata.width, 1...1_000_000) || outside(metadata.height, 1...1_000_000) {
            return "size \(metadata.width ?? 0)×\(metadata.height ?? 0)"
        }
        if outside(metadata.orientation, 1...8) { return "orientation \(metadata.orientation ?? 0)" }
        if outside(metadata.rotation, -360...360) { return "rotation \(metadata.rotation ?? 0)" }
        if unfit(metadata.durationSeconds, 0...10_000_000) { return "duration \(metadata.durationSeconds ?? 0)" }
        if unfit(metadata.frameRate, 0...100_000) { return "frame rate \(metadata.frameRate ?? 0)" }
        if let location = metadata.location {
            if unfit(location.latitude, -90...90) || unfit(location.longitude, -180...180) || unfit(location.altitude, -20_000...1_000_000) {
                return "location \(location.latitude), \(location.longitude), \(location.altitude ?? 0)"
            }
        }
        if let time = metadata.captureTime {
            // YYYY-MM-DDTHH:MM:SS, and a fraction of a second if the file has one.
            let bytes = Array(time.local.utf8)
            let digits = Array(bytes.prefix(19)), fraction = bytes.dropFirst(19)
            let isDigit = { (byte: UInt8) in (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
            let fractionFits = fraction.isEmpty || (fraction.count <= 10 && fraction.first == UInt8(ascii: ".") && fraction.dropFirst().allSatisfy(isDigit))
            let shape = digits.count == 19 && fractionFits && digits.enumerated().allSatisfy { index, byte in
                switch index {
                case 4, 7: byte == UInt8(ascii: "-")
                case 10: byte == UInt8(ascii: "T")
                case 13, 16: byte == UInt8(ascii: ":")
                default: isDigit(byte)
                }
            }
            guard shape, outside(time.offsetSeconds, -16 * 3600...16 * 3600) == false else { return "capture time \(time.local.prefix(40))" }
        }
        for (name, text) in [("make", metadata.make), ("model", metadata.model), ("lens", metadata.lens), ("video codec", metadata.videoCodec),
                             ("audio codec", metadata.audioCodec), ("HDR transfer", metadata.hdrTransfer),
                             ("content identifier", metadata.contentIdentifier)] {
            if let text, text.utf8.count > 1024 { return "a \(text.utf8.count)-byte \(name)" }
        }
        if let motion = metadata.motionPhoto {
            let (end, overflow) = motion.videoOffset.addingReportingOverflow(motion.videoLength)
            if overflow || end > UInt64(max(0, fileSize)) || motion.videoLength == 0 {
                return "a motion photo video at \(motion.videoOffset)+\(motion.videoLength) in a file of \(fileSize) bytes"
            }
        }
        return nil
    }
}
