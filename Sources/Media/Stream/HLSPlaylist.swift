import Foundation

/// The VOD playlist of one stream file cut into encrypted byte-range segments.
enum HLSPlaylist {
    static func text(segments: [StreamSegment], segmentFileName: String, key: [UInt8], iv: [UInt8]) -> String {
        // HLS: every EXTINF, rounded to the nearest integer, is at most the target duration.
        let target = max(1, Int(segments.map(\.duration).max()?.rounded() ?? 1))
        let keyURI = "data:text/plain;base64," + Data(key).base64EncodedString()
        let ivHex = iv.map { String(format: "%02x", $0) }.joined()
        var lines = [
            "#EXTM3U",
            // Byte ranges need version 4.
            "#EXT-X-VERSION:4",
            "#EXT-X-TARGETDURATION:\(target)",
            "#EXT-X-MEDIA-SEQUENCE:0",
            "#EXT-X-PLAYLIST-TYPE:VOD",
            "#EXT-X-KEY:METHOD=AES-128,URI=\"\(keyURI)\",IV=0x\(ivHex)",
        ]
        for segment in segments {
            lines.append(String(format: "#EXTINF:%.6f,", segment.duration))
            lines.append("#EXT-X-BYTERANGE:\(segment.length)@\(segment.offset)")
            lines.append(segmentFileName)
        }
        lines.append("#EXT-X-ENDLIST")
        return lines.joined(separator: "\n") + "\n"
    }
}
