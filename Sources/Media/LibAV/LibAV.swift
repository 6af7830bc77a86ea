import CFFmpeg

/// libav's process-wide settings, applied once before a stage's first libav call.
enum LibAV {
    /// libav prints every damaged packet and unreadable header to stderr ("moov atom not found"); our errors
    /// carry the reasons instead, and the pipeline reports them per file.
    static let configured: Void = av_log_set_level(AV_LOG_QUIET)

    /// Hands the memory a finished transcode freed back to the system. glibc keeps freed blocks in the arena of the
    /// thread that used them (a worker, or one of libav's or x264's threads), so without this a long run's resident
    /// memory climbs to the sum of its largest transcodes instead of following what is in use.
    static func returnFreedMemory() {
        malloc_trim(0)
    }
}

/// libav's own words for an error code.
func avErrorText(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 128)
    av_strerror(code, &buffer, buffer.count)
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Throws a `stage` error when a libav call returned a negative code.
@discardableResult
func avCheck(_ code: Int32, _ what: String, stage: MediaError.Stage,
             _ reason: (String) -> MediaError.Reason = MediaError.Reason.encodeFailed) throws(MediaError) -> Int32 {
    guard code >= 0 else { throw MediaError(stage, reason("\(what): \(avErrorText(code))")) }
    return code
}

let averrorEAGAIN = cffmpeg_averror(EAGAIN)
let averrorEOF = cffmpeg_averror_eof()
