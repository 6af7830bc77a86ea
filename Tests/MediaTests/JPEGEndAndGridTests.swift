import Foundation
@testable import Media
import MediaTypes
import Testing
import TestSupport

/// Where a JPEG ends (so what follows is never read) and the cap on HEIF grid canvases.
@Suite struct JPEGEndAndGridTests {
    /// SOI; an APP0 whose payload holds FF D9; a scan with a stuffed byte and a restart marker; a DHT; a second
    /// scan ending in fill bytes; EOI; then a trailer that must not count.
    static let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x06, 0xFF, 0xD9, 0xFF, 0xD9,
                                0xFF, 0xDA, 0x00, 0x04, 0x00, 0x00, 0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD3, 0x56,
                                0xFF, 0xC4, 0x00, 0x03, 0x00,
                                0xFF, 0xDA, 0x00, 0x03, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0x78, 0xFF, 0xFF, 0xD9]
    static let trailer = Array("\0\0\0\u{18}ftypmp42".utf8) + [UInt8](repeating: 0xFF, count: 40)

    /// `bytes` read as a file would be; reads of entropy-coded data (the large ones) get at most `chunk` bytes.
    static func reader(_ bytes: [UInt8], chunk: Int = .max) -> (UInt64, Int) -> ByteView {
        { offset, count in ByteView.window(of: bytes, at: offset, count: count > 16 ? min(count, chunk) : count) }
    }

    @Test(arguments: [Int.max, 2, 3, 5])
    func endOfImageIsAfterTheFirstEOIMarker(chunk: Int) {
        let end = JPEGSegments.endOfImage(from: 0, read: Self.reader(Self.jpeg + Self.trailer, chunk: chunk))
        #expect(end == UInt64(Self.jpeg.count))
    }

    @Test func truncatedOrNonJPEGDataHasNoEnd() {
        for cut in [4, 12, 20, 30, Self.jpeg.count - 1] {
            #expect(JPEGSegments.endOfImage(from: 0, read: Self.reader(Array(Self.jpeg.prefix(cut)))) == nil, "\(cut)")
        }
        #expect(JPEGSegments.endOfImage(from: 0, read: Self.reader(Self.trailer)) == nil)
    }

    /// In the corpus's motion photos the JPEG ends before the video the metadata stage finds.
    @Test(.needsCorpus) func motionPhotoJPEGsEndBeforeTheirVideo() throws {
        let corpus = try #require(TestEnvironment.corpus)
        for name in ["androidx-media__pixel-motion-photo-shortened.jpg", "androidx-media__ss-motion-photo-shortened.jpg"] {
            let motion = try #require(try corpusMetadata(name)?.motionPhoto, "\(name)")
            let file = try MediaFile(path: corpus.appendingPathComponent(name).path, stage: .thumbnail)
            let end = try #require(JPEGSegments.endOfImage(from: 0, read: file.view), "\(name)")
            #expect(end <= motion.videoOffset, "\(name)")
            #expect(file.view(at: end - 2, count: 2).bytes == [0xFF, 0xD9], "\(name)")
        }
    }

    /// 256×256 tiles of 512×512 would be a 17-gigapixel canvas: refused before anything is allocated.
    @Test func hugeGridCanvasesAreRefused() throws {
        let layout = try GridLayout([0, 0, 255, 255, 0xFF, 0xFF, 0xFF, 0xFF])
        let tile = Frame()
        tile.pointer.pointee.width = 512
        tile.pointer.pointee.height = 512
        #expect(throws: MediaError.self) { try Canvas(layout: layout, firstTile: tile) }
    }
}
