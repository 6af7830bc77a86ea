import Foundation
@testable import Media
import MediaTypes
import Testing
import TestSupport

@Suite struct MotionPhotoTests {
    @Test(.needsCorpus) func corpusMotionPhotos() throws {
        let pixel = try #require(try corpusMetadata("androidx-media__pixel-motion-photo-shortened.jpg"))
        #expect(pixel.motionPhoto == MotionPhotoInfo(flavour: .googleXMP, videoOffset: 131_582, videoLength: 8_730))
        let samsung = try #require(try corpusMetadata("androidx-media__ss-motion-photo-shortened.jpg"))
        #expect(samsung.motionPhoto?.flavour == .samsungTrailer)
        #expect(samsung.motionPhoto?.videoOffset == 20_345)
        let heic = try #require(try corpusMetadata("ente-motion_photos__motionphoto.heic"))
        #expect(heic.motionPhoto?.flavour == .heicMpvd)
        #expect(heic.motionPhoto?.videoOffset == 1_455_411)

        // The XMP of this one still says "motion photo", but its video was cut off.
        #expect(try corpusMetadata("androidx-media__pixel-motion-photo-video-removed-shortened.jpg")?.motionPhoto == nil)
        #expect(try corpusMetadata("androidx-media__non-motion-photo-shortened.jpg")?.motionPhoto == nil)
        #expect(try corpusMetadata("osxphotos__IMG_3582.HEIC")?.motionPhoto == nil)
    }

    /// The embedded video's recorded bytes are a whole MP4 that libavformat reads.
    @Test(.needsCorpus) func embeddedVideoBytesAreAVideo() throws {
        let corpus = try #require(TestEnvironment.corpus)
        let folder = try TestEnvironment.makeTempDirectory("keepsake-motion")
        defer { try? FileManager.default.removeItem(at: folder) }
        for name in ["androidx-media__pixel-motion-photo-shortened.jpg", "ente-motion_photos__motionphoto.heic",
                     "androidx-media__ss-motion-photo-shortened.jpg"] {
            let motion = try #require(try corpusMetadata(name)?.motionPhoto, "\(name)")
            let data = try Data(contentsOf: corpus.appendingPathComponent(name))
            let video = data.subdata(in: Int(motion.videoOffset)..<Int(motion.videoOffset + motion.videoLength))
            let url = folder.appendingPathComponent(name + ".mp4")
            try video.write(to: url)
            let metadata = try MetadataReader.read(fileAt: url.path, format: .mp4)
            #expect(metadata.videoCodec != nil, "\(name)")
        }
    }

    /// A JPEG with only a Samsung trailer (no XMP): a "MotionPhoto_Data" block holding an MP4, the SEFH
    /// directory pointing back to it, and "SEFT". With a damaged directory the block is found by its name.
    @Test(arguments: [false, true])
    func samsungTrailerWithoutXMP(damagedDirectory: Bool) throws {
        let folder = try TestEnvironment.makeTempDirectory("keepsake-sef")
        defer { try? FileManager.default.removeItem(at: folder) }
        func le32(_ value: Int) -> [UInt8] { (0..<4).map { UInt8(value >> (8 * $0) & 0xFF) } }
        let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0, 10, 0, 20, 1, 1, 0x11, 0, 0xFF, 0xD9]
        let video = box("ftyp", Array("isom".utf8) + [0, 0, 2, 0]) + box("mdat", [1, 2, 3, 4])
        let block = [0, 0, 0x30, 0x0A] + le32(16) + Array("MotionPhoto_Data".utf8) + video
        let back = damagedDirectory ? 1 << 30 : block.count
        let directory = Array("SEFH".utf8) + le32(106) + le32(1) + [0, 0, 0x30, 0x0A] + le32(back) + le32(block.count)
        let bytes = jpeg + block + directory + le32(directory.count) + Array("SEFT".utf8)
        let url = folder.appendingPathComponent("20200101_101010.jpg")
        try Data(bytes).write(to: url)
        let metadata = try MetadataReader.read(fileAt: url.path, format: .jpeg)
        #expect(metadata.motionPhoto == MotionPhotoInfo(flavour: .samsungTrailer, videoOffset: UInt64(jpeg.count + 24),
                                                        videoLength: UInt64(video.count)))
        #expect(metadata.width == 20 && metadata.height == 10)
    }

    /// A Samsung trailer without a motion photo block (other SEF data) is a plain photo.
    @Test func samsungTrailerWithoutVideo() throws {
        let folder = try TestEnvironment.makeTempDirectory("keepsake-sef")
        defer { try? FileManager.default.removeItem(at: folder) }
        func le32(_ value: Int) -> [UInt8] { (0..<4).map { UInt8(value >> (8 * $0) & 0xFF) } }
        let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0, 10, 0, 20, 1, 1, 0x11, 0, 0xFF, 0xD9]
        let block = [0, 0, 0x01, 0x0A] + le32(14) + Array("Image_UTC_Data".utf8) + Array("1577880000000".utf8)
        let directory = Array("SEFH".utf8) + le32(106) + le32(1) + [0, 0, 0x01, 0x0A] + le32(block.count) + le32(block.count)
        let url = folder.appendingPathComponent("photo.jpg")
        try Data(jpeg + block + directory + le32(directory.count) + Array("SEFT".utf8)).write(to: url)
        #expect(try MetadataReader.read(fileAt: url.path, format: .jpeg).motionPhoto == nil)
    }

    /// HEIF keeps XMP in a `mime` item; Google's HEIC motion photos put their Container directory there.
    @Test(.needsCorpus) func heifXMPItem() throws {
        let corpus = try #require(TestEnvironment.corpus)
        let file = try MediaFile(path: corpus.appendingPathComponent("ente-motion_photos__motionphoto.heic").path, stage: .metadata)
        let summary = try HEIFReader.read(file)
        #expect(summary.xmp?.contains("Item:Semantic=\"MotionPhoto\"") == true)
        #expect(summary.embeddedVideo?.offset == 1_455_411)
    }

    @Test func xmpDirectoryForms() {
        let attributes = """
        <Container:Directory><rdf:Seq>
        <rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="image/jpeg" Item:Semantic="Primary" Item:Length="0"/></rdf:li>
        <rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="video/mp4" Item:Semantic="MotionPhoto" Item:Length="8730" Item:Padding="2"/></rdf:li>
        </rdf:Seq></Container:Directory>
        """
        #expect(MotionPhotoDetector.videoDistanceFromEnd(attributes) == 8732)
        let elements = "<GCamera:MicroVideo>1</GCamera:MicroVideo><GCamera:MicroVideoOffset> 2582 </GCamera:MicroVideoOffset>"
        #expect(MotionPhotoDetector.videoDistanceFromEnd(elements) == 2582)
        #expect(MotionPhotoDetector.videoDistanceFromEnd("<x:xmpmeta/>") == nil)
    }
}
