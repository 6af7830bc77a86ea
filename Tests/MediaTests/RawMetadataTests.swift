import Foundation
import Media
import MediaTypes
import Testing
import TestSupport

@Suite struct RawMetadataTests {
    static let canonUUID: [UInt8] = [0x85, 0xC0, 0xB6, 0x87, 0x82, 0x0F, 0x11, 0xE0,
                                     0x81, 0x11, 0xF4, 0xCE, 0x46, 0x2B, 0x6A, 0x48]

    /// A CR3 laid out as Canon does: ftyp "crx ", moov → Canon uuid → CMT1/CMT2/CMT4, then mdat.
    @Test func canonCR3() throws {
        let cmt1 = TIFFBuilder(entries: [(0x010F, .ascii("Canon")), (0x0110, .ascii("Canon EOS R5")),
                                         (0x0112, .short(6)), (0x0100, .long(8192)), (0x0101, .long(5464))]).build()
        let cmt2 = TIFFBuilder(entries: [(0x9003, .ascii("2021:05:01 10:20:30")), (0x9011, .ascii("+02:00")),
                                         (0xA434, .ascii("RF24-105mm F4 L IS USM"))]).build()
        let cmt4 = TIFFBuilder(entries: [(0x0001, .ascii("N")), (0x0002, .rationals([(48, 1), (51, 1), (30, 1)])),
                                         (0x0003, .ascii("E")), (0x0004, .rationals([(2, 1), (21, 1), (0, 1)]))]).build()
        let canon = box("uuid", Self.canonUUID + box("CNCV", Array("CanonCR3_001/00.09.00/00.00.00".utf8))
                        + box("CMT1", cmt1) + box("CMT2", cmt2) + box("CMT4", cmt4))
        let ftyp = box("ftyp", Array("crx ".utf8) + [0, 0, 0, 1] + Array("crx isom".utf8))
        let bytes = ftyp + box("moov", canon) + box("mdat", [UInt8](repeating: 0, count: 64))
        #expect(Sniffer.sniff(bytes) == .media(.cr3))

        let folder = try TestEnvironment.makeTempDirectory("keepsake-cr3")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("IMG_0001.CR3")
        try Data(bytes).write(to: url)
        let metadata = try MetadataReader.read(fileAt: url.path, format: .cr3)
        #expect(metadata.captureTime == CaptureTime(local: "2021-05-01T10:20:30", offsetSeconds: 7_200, source: .exif))
        #expect(metadata.make == "Canon" && metadata.model == "Canon EOS R5")
        #expect(metadata.lens == "RF24-105mm F4 L IS USM")
        #expect(metadata.orientation == 6)
        #expect(metadata.width == 5464 && metadata.height == 8192)
        let location = try #require(metadata.location)
        #expect(abs(location.latitude - 48.858333) < 1e-5 && abs(location.longitude - 2.35) < 1e-5)
    }

    /// TIFF: IFD0 carries the camera and the image size.
    @Test func plainTIFF() throws {
        let bytes = TIFFBuilder(littleEndian: false, entries: [
            (0x010F, .ascii("NIKON CORPORATION")), (0x0110, .ascii("NIKON D7000")), (0x0112, .short(8)),
            (0x0100, .short(640)), (0x0101, .short(480)),
        ]).build()
        #expect(Sniffer.sniff(bytes) == .media(.nef))  // a Nikon's TIFF structure is taken for a NEF
        let folder = try TestEnvironment.makeTempDirectory("keepsake-tiff")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("scan.tif")
        try Data(bytes).write(to: url)
        let metadata = try MetadataReader.read(fileAt: url.path, format: .tiff)
        #expect(metadata.model == "NIKON D7000" && metadata.orientation == 8)
        #expect(metadata.width == 480 && metadata.height == 640)
    }

    /// Panasonic RW2 and Olympus ORF: TIFF structures under their own magic numbers.
    @Test(arguments: [([UInt8](arrayLiteral: 0x55, 0x00), MediaFormat.rw2), ([0x52, 0x4F], .orf)])
    func vendorMagic(magic: [UInt8], format: MediaFormat) throws {
        var bytes = TIFFBuilder(entries: [(0x010F, .ascii("Panasonic")), (0x0110, .ascii("DC-GH5"))]).build()
        bytes.replaceSubrange(2..<4, with: magic)
        #expect(Sniffer.sniff(bytes + [UInt8](repeating: 0, count: 32)) == .media(format))
        let folder = try TestEnvironment.makeTempDirectory("keepsake-raw")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("P1000001.RAW")
        try Data(bytes).write(to: url)
        #expect(try MetadataReader.read(fileAt: url.path, format: format).model == "DC-GH5")
    }
}

@Suite struct MetadataEncodingTests {
    /// The index stores metadata as JSON: sources become an object keyed by field name, and everything round-trips.
    @Test func roundTripsThroughJSON() throws {
        var metadata = MediaMetadata(format: .heic)
        metadata.captureTime = CaptureTime(local: "2021-08-06T11:32:22.397", offsetSeconds: -25_200, source: .exif)
        metadata.location = GeoLocation(latitude: 36.1, longitude: -115.2, altitude: nil, source: .exif)
        metadata.motionPhoto = MotionPhotoInfo(flavour: .heicMpvd, videoOffset: 10, videoLength: 20)
        metadata.sources = [.captureTime: .exif, .location: .exif, .motionPhoto: .container]
        let data = try JSONEncoder().encode(metadata)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect((object["sources"] as? [String: String])?["captureTime"] == "exif")
        #expect(try JSONDecoder().decode(MediaMetadata.self, from: data) == metadata)
    }
}
