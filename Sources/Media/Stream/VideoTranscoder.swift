import MediaTypes

/// What one decode pass of a video produced.
public struct TranscodeResult: Sendable {
    /// The HLS playlist text (carrying the segment key as a `data:` URI) whose segments are byte ranges of `StreamOptions.segmentFileName`.
    public var playlist: String
    /// The frame at 1 s (0 s for shorter clips), upright, tone-mapped, long edge ≤ 720; nil when none could be decoded.
    public var thumbnailFrame: RGBImage?
    public init(playlist: String, thumbnailFrame: RGBImage?) {
        self.playlist = playlist
        self.thumbnailFrame = thumbnailFrame
    }
}

public enum VideoTranscoder {
    /// Decodes the video once, encodes its 720p H.264/AAC HLS stream as one MPEG-TS with byte-range segments,
    /// each segment AES-128-CBC encrypted with `segmentKey` and `iv` (16 bytes each) and handed to `output` in order.
    ///
    /// With `embedded`, the video is the one stored at those bytes inside the file (a motion photo's), read in place
    /// through libavformat's `subfile` protocol.
    ///
    /// Blocking; safe to run for several files at once on different threads. When it throws, whatever
    /// `output` received is incomplete and must be discarded.
    public static func transcode(fileAt path: String, format: MediaFormat, embedded: EmbeddedVideo? = nil, options: StreamOptions,
                                 segmentKey: [UInt8], iv: [UInt8],
                                 output: (UnsafeRawBufferPointer) throws -> Void) throws(MediaError) -> TranscodeResult {
        _ = LibAV.configured
        defer { LibAV.returnFreedMemory() }
        return try withoutActuallyEscaping(output) { output throws(MediaError) in
            let cipher = try SegmentCipher(key: segmentKey, iv: iv, output: output)
            let session = try TranscodeSession(path: inputURL(path, embedded: embedded), options: options, cipher: cipher)
            let (segments, thumbnail) = try session.run()
            let playlist = HLSPlaylist.text(segments: segments, segmentFileName: StreamOptions.segmentFileName, key: segmentKey, iv: iv)
            return TranscodeResult(playlist: playlist, thumbnailFrame: thumbnail)
        }
    }

    /// What libavformat opens: the file, or the part of it `embedded` names (`end` is exclusive).
    static func inputURL(_ path: String, embedded: EmbeddedVideo?) -> String {
        guard let embedded else { return path }
        let (end, overflow) = embedded.offset.addingReportingOverflow(embedded.length)
        return "subfile,,start,\(embedded.offset),end,\(overflow ? 0 : end),,:" + path
    }

    /// The frame a stream's thumbnail would come from (1 s in, or the last before), decoding only up to it.
    public static func thumbnailFrame(fileAt path: String) throws(MediaError) -> RGBImage {
        _ = LibAV.configured
        guard let frame = try TranscodeSession.thumbnail(path: path) else {
            throw MediaError(.thumbnail, .decodeFailed("no video frame could be decoded"))
        }
        return frame
    }
}
