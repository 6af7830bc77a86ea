import CFFmpeg
import MediaTypes

/// The two costs under a stream's transcode, measured alone (the floor benchmark): decoding the video as the
/// transcode decodes it (same decoder settings, same skipping), and libx264 encoding frames already filtered.
public enum StreamFloor {
    /// Decodes the whole video track of the file at `path` the way a transcode does, and nothing else; answers the
    /// frames that came out of the decoder. `skippingDroppedFrames` false decodes the frames the frame-rate step
    /// drops too (a transcode skips those where the codec allows).
    public static func decode(fileAt path: String, skippingDroppedFrames: Bool = true) throws(MediaError) -> Int {
        defer { LibAV.returnFreedMemory() }
        return try run(fileAt: path, filters: false, skippingDroppedFrames: skippingDroppedFrames).framesDecoded
    }

    /// What a `run` saw.
    struct Run {
        var framesDecoded: Int
        var geometry: StreamGeometry
        /// The container's duration, 0 when unknown.
        var seconds: Double
    }

    /// Runs the video track of the file at `path` through the transcode's video path without an encoder, until the
    /// input ends or `done` says so; `tap` sees each frame that comes out of the filters.
    static func run(fileAt path: String, filters: Bool = true, skippingDroppedFrames: Bool = true, until done: () -> Bool = { false },
                    tap: ((UnsafeMutablePointer<AVFrame>) -> Void)? = nil) throws(MediaError) -> Run {
        _ = LibAV.configured
        let input = try InputFile(path: path)
        let video = try TranscodeSession.openVideo(in: input, preset: nil, filters: filters,
                                                   skipsDroppedFrames: skippingDroppedFrames)
        video.filteredFrameTap = tap
        try TranscodeSession.feedVideo(of: input, to: video, until: done)
        let duration = input.context.pointee.duration
        return Run(framesDecoded: video.framesDecoded, geometry: video.geometry,
                   seconds: duration > 0 ? Double(duration) / Double(AV_TIME_BASE) : 0)
    }

    /// The first frames of a video's stream as the encoder gets them (decoded, scaled, upright, BT.709), in memory.
    public final class Frames: @unchecked Sendable {
        fileprivate let frames: [Frame]
        fileprivate let geometry: StreamGeometry
        /// The frames the whole video's stream has: its duration times the stream's frame rate.
        public let streamFrameCount: Int
        public var count: Int { frames.count }

        fileprivate init(frames: [Frame], geometry: StreamGeometry, streamFrameCount: Int) {
            self.frames = frames
            self.geometry = geometry
            self.streamFrameCount = streamFrameCount
        }
    }

    /// Up to the first `limit` frames of the stream of the file at `path` (about 1.4 MB each for 720p).
    public static func frames(ofFileAt path: String, limit: Int) throws(MediaError) -> Frames {
        var held: [Frame] = []
        let walk = try run(fileAt: path, until: { held.count >= limit }) { frame in
            guard held.count < limit else { return }
            let copy = Frame()
            av_frame_ref(copy.pointer, frame)
            held.append(copy)
        }
        guard !held.isEmpty else { throw MediaError(.stream, .decodeFailed("no video frame could be decoded")) }
        let total = Int((walk.seconds * Double(walk.geometry.frameRate)).rounded())
        return Frames(frames: held, geometry: walk.geometry, streamFrameCount: max(total, held.count))
    }

    /// Encodes `count` frames with the stream's libx264 settings, going round `frames` again and again; answers the
    /// bytes of H.264 that came out.
    public static func encode(_ frames: Frames, count: Int, preset: String = StreamOptions().preset) throws(MediaError) -> Int {
        let encoder = try VideoPath.openEncoder(geometry: frames.geometry, preset: preset)
        let packet = Packet()
        var bytes = 0
        let collect = { (packet: UnsafeMutablePointer<AVPacket>) throws(MediaError) in bytes += Int(packet.pointee.size) }
        for index in 0..<count {
            let frame = frames.frames[index % frames.count].pointer
            frame.pointee.pts = Int64(index)
            frame.pointee.pict_type = AV_PICTURE_TYPE_NONE
            try encoder.encode(frame, into: packet, collect)
        }
        try encoder.encode(nil, into: packet, collect)
        return bytes
    }
}

extension Frame {
    /// A digest of the visible pixels of an 8-bit planar YUV 4:2:0 frame, for telling frames apart within a process.
    static func pixelDigest(of frame: UnsafeMutablePointer<AVFrame>) -> Int {
        var hasher = Hasher()
        let width = Int(frame.pointee.width), height = Int(frame.pointee.height)
        withUnsafeBytes(of: frame.pointee.data) { data in
            withUnsafeBytes(of: frame.pointee.linesize) { lineSizes in
                let planes = data.bindMemory(to: UnsafeMutablePointer<UInt8>?.self)
                let strides = lineSizes.bindMemory(to: Int32.self)
                for (plane, shift) in [(0, 0), (1, 1), (2, 1)] {
                    guard let start = planes[plane] else { continue }
                    for row in 0..<(height + shift) >> shift {
                        hasher.combine(bytes: UnsafeRawBufferPointer(start: start + row * Int(strides[plane]),
                                                                     count: (width + shift) >> shift))
                    }
                }
            }
        }
        return hasher.finalize()
    }
}
