import CFFmpeg

/// An owned `AVPacket`.
final class Packet {
    let pointer: UnsafeMutablePointer<AVPacket>

    /// An empty packet, for a demuxer or encoder to fill and reuse.
    init() { pointer = av_packet_alloc() }

    /// A packet of `size` bytes, with libavcodec's required zeroed padding after them.
    init(size: Int, stage: MediaError.Stage) throws(MediaError) {
        // The size (usually from the file) is checked before libavcodec adds its padding to it in 32 bits.
        guard size >= 0, size <= Int(Int32.max) - Int(AV_INPUT_BUFFER_PADDING_SIZE) else {
            throw MediaError(stage, .io("\(size) bytes are more than one libavcodec packet holds"))
        }
        guard let packet = av_packet_alloc() else { throw MediaError(stage, .io("cannot allocate a packet")) }
        pointer = packet
        guard av_new_packet(packet, Int32(size)) >= 0 else { throw MediaError(stage, .io("cannot allocate \(size) bytes")) }
    }

    deinit {
        var packet: UnsafeMutablePointer<AVPacket>? = pointer
        av_packet_free(&packet)
    }

    /// The data in place; valid only while the packet lives (use `withExtendedLifetime` when in doubt).
    var bytes: UnsafeMutableBufferPointer<UInt8> { UnsafeMutableBufferPointer(start: pointer.pointee.data, count: Int(pointer.pointee.size)) }

    /// A copy of the data.
    var contents: [UInt8] { Array(bytes) }
}

extension MediaFile {
    /// `count` bytes at `offset`, as a packet ready for a decoder; throws when the file ends first, or when
    /// `count` is over what one picture may take (`PictureBudget`).
    func packet(at offset: Int, count: Int) throws(MediaError) -> Packet {
        try checkRange(offset, count)
        try PictureBudget.checkCompressed(count)
        let packet = try Packet(size: count, stage: stage)
        try fill(packet.bytes, from: offset)
        return packet
    }
}
