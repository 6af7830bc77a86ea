import Foundation
@testable import Media
import Testing
import TestSupport

@Suite struct MotionPhotoTests {
    @Test func corpusMotionPhotos() throws {
        guard TestEnvironment.corpus != nil else { return }
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
    @Test func embeddedVideoBytesAreAVideo() throws {
        guard let corpus = TestEnvironment.corpus else { return }
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

    /// A JPEG with only a Samsung trailer (no XMP): marker, MP4, then the SEF directory.
    @Test func samsungTrailerWithoutXMP() throws {
        let folder = try TestEnvironment.makeTempDirectory("keepsake-sef")
        defer { try? FileManager.default.removeItem(at: folder) }
        let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0, 10, 0, 20, 1, 1, 0x11, 0, 0xFF, 0xD9]
        let ftyp: [UInt8] = [0, 0, 0, 16] + Array("ftypisom".utf8) + [0, 0, 2, 0]
        let mdat: [UInt8] = [0, 0, 0, 12] + Array("mdat".utf8) + [1, 2, 3, 4]
        let trailer = Array("SEFH".utf8) + [0x6A, 0, 0, 0, 0, 0, 0, 0] + [0, 0, 0, 0] + Array("SEFT".utf8)
        let bytes = jpeg + Array("MotionPhoto_Data".utf8) + ftyp + mdat + trailer
        let url = folder.appendingPathComponent("20200101_101010.jpg")
        try Data(bytes).write(to: url)
        let metadata = try MetadataReader.read(fileAt: url.path, format: .jpeg)
        let expectedOffset = UInt64(jpeg.count + 16)
        #expect(metadata.motionPhoto == MotionPhotoInfo(flavour: .samsungTrailer, videoOffset: expectedOffset,
                                                        videoLength: UInt64(ftyp.count + mdat.count)))
        #expect(metadata.width == 20 && metadata.height == 10)
    }

    /// HEIF keeps XMP in a `mime` item; Google's HEIC motion photos put their Container directory there.
    @Test func heifXMPItem() throws {
        guard let corpus = TestEnvironment.corpus else { return }
        let file = try MediaFile(path: corpus.appendingPathComponent("ente-motion_photos__motionphoto.heic").path)
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
