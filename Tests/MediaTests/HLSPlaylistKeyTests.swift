import Foundation
@testable import Media
import MediaTypes
import Testing
import TestSupport

/// `HLSPlaylistKey` takes the segment key out of a playlist as the transcoder writes it, and refuses one it cannot
/// read rather than writing a playlist that no player opens.
@Suite struct HLSPlaylistKeyTests {
    @Test func theKeyOfEverySegmentIsMovedToOneURI() throws {
        let key = (0..<16).map { UInt8($0 * 7) }, iv = [UInt8](repeating: 3, count: 16)
        let segments = (0..<3).map { StreamSegment(offset: $0 * 1000, length: 1000, duration: 2) }
        let stored = HLSPlaylist.text(segments: segments, segmentFileName: "stream.ts", key: key, iv: iv)
        let (playlist, found) = try HLSPlaylistKey.separate(stored, keyURI: "stream.key.ts")
        #expect(found == key)
        #expect(!playlist.contains("data:"))
        #expect(playlist.components(separatedBy: "URI=\"stream.key.ts\",IV=0x").count == 4, "\(playlist)")
        // Nothing else changes: the IVs, durations and byte ranges stay as they were.
        #expect(playlist.replacingOccurrences(of: "stream.key.ts", with: "data:text/plain;base64," + Data(key).base64EncodedString())
                == stored)
    }

    @Test func aPlaylistWithoutAReadableKeyIsRefused() {
        let line = { (uri: String) in "#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"\(uri)\",IV=0x00\nstream.ts\n" }
        #expect(throws: HLSPlaylistKey.Failure.self) { try HLSPlaylistKey.separate("#EXTM3U\nstream.ts\n", keyURI: "k.ts") }
        #expect(throws: HLSPlaylistKey.Failure.self) { try HLSPlaylistKey.separate(line("https://example.com/k"), keyURI: "k.ts") }
        #expect(throws: HLSPlaylistKey.Failure.self) { try HLSPlaylistKey.separate(line("data:text/plain;base64,AAAA"), keyURI: "k.ts") }
        let one = "data:text/plain;base64," + Data(repeating: 1, count: 16).base64EncodedString()
        let other = "data:text/plain;base64," + Data(repeating: 2, count: 16).base64EncodedString()
        #expect(throws: HLSPlaylistKey.Failure.self) { try HLSPlaylistKey.separate(line(one) + line(other), keyURI: "k.ts") }
    }
}
