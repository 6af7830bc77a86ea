import CFFmpeg

/// Tells, a few packets ahead of the decoder, which frames the frame-rate step (the `fps` filter) will drop, so
/// that the decoder need not decode them: a 60 fps source keeps every other frame in a 30 fps stream.
///
/// Of the frames that fall in one output slot (their time rounded to the nearest output frame, as `fps` rounds it),
/// `fps` keeps the last and drops the others; so a frame is dropped when the next frame in presentation order falls
/// in its slot. That frame is known once it has been read: packets come in decode order, where a B-frame comes after
/// the later frames it refers to, so each packet is held back until `lookahead` more have come. The last frame of a
/// slot is never marked (the next one known is in a later slot), so every slot keeps the frame `fps` picks from it.
///
/// A marked packet goes to the decoder with `skip_frame = AVDISCARD_NONREF`: the decoder skips it only when no other
/// frame refers to it (H.264 `nal_ref_idc` 0, HEVC sub-layer non-reference pictures), and decodes it otherwise.
final class DroppedFrameSkipper {
    /// H.264 and HEVC reorder at most 16 frames.
    static let lookahead = 16

    private let step: FrameRateStep
    /// Packets read and not yet handed on, in decode order.
    private var held: [Packet] = []
    /// Presentation times of the last `lookahead` packets handed on (a B-frame's successor may be among them).
    private var handedOn: [Int64] = []

    /// `origin` is the file's start in `timeBase` (frames are timed from it, as the filter graph sees them).
    init(timeBase: AVRational, origin: Int64, frameRate: Int) {
        step = FrameRateStep(timeBase: timeBase, origin: origin, frameRate: frameRate)
    }

    /// Takes over `packet`'s data (leaving it blank) and hands on each packet whose fate is now known, with whether
    /// the frame-rate step drops its frame.
    func push(_ packet: UnsafeMutablePointer<AVPacket>,
              _ handOn: (UnsafeMutablePointer<AVPacket>, _ dropped: Bool) throws(MediaError) -> Void) throws(MediaError) {
        let kept = Packet()
        av_packet_move_ref(kept.pointer, packet)
        held.append(kept)
        if held.count > Self.lookahead { try handOnFirst(handOn) }
    }

    /// Hands on the packets still held, at the end of the input.
    func drain(_ handOn: (UnsafeMutablePointer<AVPacket>, _ dropped: Bool) throws(MediaError) -> Void) throws(MediaError) {
        while !held.isEmpty { try handOnFirst(handOn) }
    }

    private func handOnFirst(_ handOn: (UnsafeMutablePointer<AVPacket>, Bool) throws(MediaError) -> Void) throws(MediaError) {
        let packet = held.removeFirst()
        let time = Self.presentationTime(of: packet.pointer)
        try handOn(packet.pointer, time.map(isDropped) ?? false)
        if let time {
            handedOn.append(time)
            if handedOn.count > Self.lookahead { handedOn.removeFirst() }
        }
    }

    /// Whether the next frame known after `time` falls in the same output slot. A frame whose time another frame
    /// shares is kept: which of the two `fps` takes is not ours to guess.
    private func isDropped(_ time: Int64) -> Bool {
        var next: Int64?
        for other in handedOn + held.compactMap({ Self.presentationTime(of: $0.pointer) }) {
            if other == time { return false }
            if other > time, next.map({ other < $0 }) ?? true { next = other }
        }
        guard let next else { return false }
        return step.slot(of: next) == step.slot(of: time)
    }

    /// A packet's presentation time; nil when it has none, or when the decoder is told to drop its frame anyway
    /// (`AV_PKT_FLAG_DISCARD`: samples an edit list cuts), so it is no one's successor.
    static func presentationTime(of packet: UnsafeMutablePointer<AVPacket>) -> Int64? {
        let pts = packet.pointee.pts
        guard pts != cffmpeg_nopts(), packet.pointee.flags & AV_PKT_FLAG_DISCARD == 0 else { return nil }
        return pts
    }
}
