import Foundation

/// The VOD playlist of one stream file cut into encrypted byte-range segments.
enum HLSPlaylist {
    /// Each segment is preceded by its own `#EXT-X-KEY`: the same key, the segment's IV (`SegmentCipher`).
    static func text(segments: [StreamSegment], segmentFileName: String, key: [UInt8], iv: [UInt8]) -> String {
        // HLS: every EXTINF, rounded to the nearest integer, is at most the target duration.
        let target = max(1, Int(segments.map(\.duration).max()?.rounded() ?? 1))
        let keyURI = "data:text/plain;base64," + Data(key).base64EncodedString()
        var lines = [
            "#EXTM3U",
            // Byte ranges need version 4.
            "#EXT-X-VERSION:4",
            "#EXT-X-TARGETDURATION:\(target)",
            "#EXT-X-MEDIA-SEQUENCE:0",
            "#EXT-X-PLAYLIST-TYPE:VOD",
        ]
        for (index, segment) in segments.enumerated() {
            let ivHex = SegmentCipher.iv(forSegment: index, base: iv).map { String(format: "%02x", $0) }.joined()
            lines.append("#EXT-X-KEY:METHOD=AES-128,URI=\"\(keyURI)\",IV=0x\(ivHex)")
            lines.append(String(format: "#EXTINF:%.6f,", segment.duration))
            lines.append("#EXT-X-BYTERANGE:\(segment.length)@\(segment.offset)")
            lines.append(segmentFileName)
        }
        lines.append("#EXT-X-ENDLIST")
        return lines.joined(separator: "\n") + "\n"
    }
}
