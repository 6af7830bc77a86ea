import CFFmpeg
import MediaTypes

/// One pass over one video file: demux, decode, filter, encode, mux, with the thumbnail picked on the way.
final class TranscodeSession {
    private let input: InputFile
    private let video: VideoPath
    private let audio: AudioPath?
    private let muxer: SegmentedTSMuxer

    init(path: String, options: StreamOptions, cipher: SegmentCipher) throws(MediaError) {
        input = try InputFile(path: path)
        video = try Self.openVideo(in: input, preset: options.preset)
        let context = input.context
        let audioIndex = av_find_best_stream(context, AVMEDIA_TYPE_AUDIO, -1, video.streamIndex, nil, 0)
        // A sound track we cannot decode costs the stream its sound, not the stream.
        audio = audioIndex < 0 ? nil : try? AudioPath(stream: context.pointee.streams[Int(audioIndex)]!, origin: Self.origin(of: context))
        // A path opened with a preset has an encoder.
        muxer = try SegmentedTSMuxer(video: video.encoder!, audio: audio?.encoder, cipher: cipher)
    }

    /// The thumbnail frame alone, the one the stream would pick (`ThumbnailFinder`); encodes nothing.
    static func thumbnail(path: String) throws(MediaError) -> RGBImage? {
        do {
            return try ThumbnailFinder.find(path: path).frame
        } catch {
            throw MediaError(.thumbnail, error.reason)
        }
    }

    /// Feeds the video track of `input` to `video`, which encodes nothing, until `done` holds or the input ends (then
    /// `video` is flushed).
    static func feedVideo(of input: InputFile, to video: VideoPath, until done: () -> Bool) throws(MediaError) {
        let packet = Packet()
        while !done(), av_read_frame(input.context, packet.pointer) >= 0 {
            defer { av_packet_unref(packet.pointer) }
            if packet.pointer.pointee.stream_index == video.streamIndex { try video.decode(packet.pointer, into: nil) }
        }
        if !done() { try video.decode(nil, into: nil) }
    }

    static func openVideo(in input: InputFile, preset: String?, filters: Bool = true,
                          skipsDroppedFrames: Bool = true) throws(MediaError) -> VideoPath {
        let context = input.context
        let videoIndex = av_find_best_stream(context, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
        guard videoIndex >= 0, let videoStream = context.pointee.streams[Int(videoIndex)],
              videoStream.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC == 0 else {
            throw MediaError(.stream, .nothingToProcess("no video stream"))
        }
        return try VideoPath(stream: videoStream, format: context, origin: origin(of: context), preset: preset,
                             filters: filters, skipsDroppedFrames: skipsDroppedFrames)
    }

    private static func origin(of context: UnsafeMutablePointer<AVFormatContext>) -> Int64 {
        context.pointee.start_time == cffmpeg_nopts() ? 0 : context.pointee.start_time
    }

    /// Runs the whole file through; answers the segments written and the thumbnail frame.
    func run() throws(MediaError) -> ([StreamSegment], RGBImage?) {
        let packet = Packet()
        let videoIndex = video.streamIndex, audioIndex = audio?.streamIndex
        // A read error mid-file (truncation, damage) ends the input: what was read still makes a stream.
        while av_read_frame(input.context, packet.pointer) >= 0 {
            defer { av_packet_unref(packet.pointer) }
            let index = packet.pointer.pointee.stream_index
            if index == videoIndex {
                try video.decode(packet.pointer, into: muxer)
            } else if index == audioIndex {
                try audio?.decode(packet.pointer, into: muxer)
            }
        }
        try video.decode(nil, into: muxer)
        try audio?.decode(nil, into: muxer)
        guard video.framesOut > 0 else {
            throw MediaError(.stream, .decodeFailed("no video frame could be decoded"))
        }
        try muxer.finish()
        return (muxer.segments, try video.thumbnail.image())
    }
}

/// An opened input container with its streams probed.
final class InputFile {
    let context: UnsafeMutablePointer<AVFormatContext>

    init(path: String) throws(MediaError) {
        var opening: UnsafeMutablePointer<AVFormatContext>? = nil
        let opened = avformat_open_input(&opening, path, nil, nil)
        if opened == cffmpeg_averror(ENOENT) || opened == cffmpeg_averror(EACCES) {
            throw MediaError(.stream, .io("cannot read \(path): \(avErrorText(opened))"))
        }
        try avCheck(opened, "cannot open the container", stage: .stream, MediaError.Reason.corrupt)
        guard let opening else { throw MediaError(.stream, .corrupt("cannot open the container")) }
        context = opening
        try avCheck(avformat_find_stream_info(context, nil), "cannot read the stream layout", stage: .stream, MediaError.Reason.corrupt)
    }

    deinit {
        var closing: UnsafeMutablePointer<AVFormatContext>? = context
        avformat_close_input(&closing)
    }
}
