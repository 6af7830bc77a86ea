import Foundation
@testable import Media
import MediaTypes
import Testing
import TestSupport

@Suite struct CaptureTimeTests {
    static let now = 1_800_000_000  // 2027-01-15

    @Test func exifValues() {
        let time = CaptureTimeParsing.exif("2021:08:06 11:32:22", subSeconds: "397", offset: "-07:00", now: Self.now)
        #expect(time == CaptureTime(local: "2021-08-06T11:32:22.397", offsetSeconds: -25_200, source: .exif))
        #expect(CaptureTimeParsing.exif("2020:01:01 00:00:00", subSeconds: nil, offset: nil, now: Self.now)?.offsetSeconds == nil)
        // Implausible or broken dates are rejected, so the fallbacks apply.
        #expect(CaptureTimeParsing.exif("1985:06:01 12:00:00", subSeconds: nil, offset: nil, now: Self.now) == nil)
        #expect(CaptureTimeParsing.exif("2030:06:01 12:00:00", subSeconds: nil, offset: nil, now: Self.now) == nil)
        #expect(CaptureTimeParsing.exif("0000:00:00 00:00:00", subSeconds: nil, offset: nil, now: Self.now) == nil)
        #expect(CaptureTimeParsing.exif("    :  :     :  :  ", subSeconds: nil, offset: nil, now: Self.now) == nil)
        #expect(CaptureTimeParsing.exif("2021:02:30 10:00:00", subSeconds: nil, offset: nil, now: Self.now) == nil)
    }

    @Test func containerValues() {
        #expect(CaptureTimeParsing.container("2019-07-24T11:25:40+0300", source: .quicktime, now: Self.now)
                == CaptureTime(local: "2019-07-24T11:25:40", offsetSeconds: 10_800, source: .quicktime))
        #expect(CaptureTimeParsing.container("2016-05-31T17:01:35.000000Z", source: .quicktime, now: Self.now)
                == CaptureTime(local: "2016-05-31T17:01:35", offsetSeconds: 0, source: .quicktime))
        #expect(CaptureTimeParsing.container("2012-09-10 20:52:00", source: .container, now: Self.now)?.offsetSeconds == nil)
        #expect(CaptureTimeParsing.container("1904-01-01T00:00:00.000000Z", source: .quicktime, now: Self.now) == nil)
    }

    @Test(arguments: [
        ("IMG_20200101_123456.jpg", "2020-01-01T12:34:56"),
        ("IMG-20200101-WA0001.jpg", "2020-01-01T00:00:00"),
        ("Screenshot_20200101-123456.png", "2020-01-01T12:34:56"),
        ("signal-2020-01-01-12-34-56-123.jpg", "2020-01-01T12:34:56"),
        ("signal-2020-01-01-123456.jpg", "2020-01-01T12:34:56"),
        ("PXL_20200101_123456789.jpg", "2020-01-01T12:34:56"),
        ("VID_20191231_235959.mp4", "2019-12-31T23:59:59"),
        ("20200101_101010.jpg", "2020-01-01T10:10:10"),
        ("20200101123456.jpg", "2020-01-01T12:34:56"),
        ("Photo 2020-01-01 12.34.56.jpg", "2020-01-01T12:34:56"),
    ])
    func fileNameDates(name: String, local: String) {
        #expect(CaptureTimeFallbacks.fromFileName(name, now: Self.now)
                == CaptureTime(local: local, offsetSeconds: nil, source: .filename))
    }

    @Test(arguments: ["IMG_2908.PNG", "DSC_1234.JPG", "crash-0f5b7f736ab835dbc411ab23575a703acdde727f.fuzzed",
                      "IMG_19800101_101010.jpg", "IMG_20201341_101010.jpg", "123420200101.jpg",
                      "2020010112345678.jpg", "2020010199.jpg"])
    func namesWithoutDates(name: String) {
        #expect(CaptureTimeFallbacks.fromFileName(name, now: Self.now) == nil)
    }

    @Test func xmpDates() {
        #expect(XMP.captureTime(#"<rdf:Description photoshop:DateCreated="2015-09-27T16:29:28"/>"#, now: Self.now)
                == CaptureTime(local: "2015-09-27T16:29:28", offsetSeconds: nil, source: .xmp))
        #expect(XMP.captureTime("<exif:DateTimeOriginal>2019-01-02T03:04:05.120+01:00</exif:DateTimeOriginal>", now: Self.now)
                == CaptureTime(local: "2019-01-02T03:04:05.120", offsetSeconds: 3_600, source: .xmp))
        #expect(XMP.captureTime(#"<rdf:Description xmp:CreateDate="2015-09-27"/>"#, now: Self.now) == nil)
    }

    /// An iPhone screenshot (PNG) has no EXIF, but its XMP iTXt chunk says when it was taken.
    @Test(.needsCorpus) func pngScreenshotDateFromXMP() throws {
        let metadata = try #require(try corpusMetadata("osxphotos__IMG_2908.PNG"))
        #expect(metadata.captureTime == CaptureTime(local: "2015-09-27T16:29:28", offsetSeconds: nil, source: .xmp))
    }

    @Test func iso6709() {
        #expect(ISO6709.parse("+34.0083-118.4979+000.000/")! == (34.0083, -118.4979, 0.0))
        #expect(ISO6709.parse("+32.0929+034.8620/")! == (32.0929, 34.862, nil))
        #expect(ISO6709.parse("garbage") == nil)
        #expect(ISO6709.parse("+134.0-10.0/") == nil)
    }

    /// A file with no date of its own takes its sidecar's, then its name's, then its mtime; in that order.
    @Test func fallbackOrder() throws {
        let folder = try TestEnvironment.makeTempDirectory("keepsake-fallback")
        defer { try? FileManager.default.removeItem(at: folder) }
        let jpeg = Data([0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0, 10, 0, 20, 1, 1, 0x11, 0, 0xFF, 0xD9])
        let mtime = Date(timeIntervalSince1970: 1_600_000_000)  // 2020-09-13T12:26:40Z
        func write(_ name: String) throws -> String {
            let url = folder.appendingPathComponent(name)
            try jpeg.write(to: url)
            try FileManager.default.setAttributes([.modificationDate: mtime], ofItemAtPath: url.path)
            return url.path
        }
        let withSidecar = try write("IMG_20190101_101010.jpg")
        let sidecar = #"{"title":"x","photoTakenTime":{"timestamp":"1577880000","formatted":"…"},"geoData":{"latitude":48.85,"longitude":2.35,"altitude":35.0}}"#
        try Data(sidecar.utf8).write(to: folder.appendingPathComponent("IMG_20190101_101010.jpg.supplemental-metadata.json"))
        let fromSidecar = try MetadataReader.read(fileAt: withSidecar, format: .jpeg)
        #expect(fromSidecar.captureTime == CaptureTime(local: "2020-01-01T12:00:00", offsetSeconds: 0, source: .takeoutJSON))
        #expect(fromSidecar.location == GeoLocation(latitude: 48.85, longitude: 2.35, altitude: 35, source: .takeoutJSON))
        #expect(fromSidecar.sources[.captureTime] == .takeoutJSON)
        #expect(fromSidecar.width == 20 && fromSidecar.height == 10)

        let named = try MetadataReader.read(fileAt: try write("PXL_20210203_040506789.jpg"), format: .jpeg)
        #expect(named.captureTime == CaptureTime(local: "2021-02-03T04:05:06", offsetSeconds: nil, source: .filename))

        let plain = try MetadataReader.read(fileAt: try write("holiday.jpg"), format: .jpeg)
        #expect(plain.captureTime == CaptureTime(local: "2020-09-13T12:26:40", offsetSeconds: 0, source: .mtime))
    }

    /// An XMP sidecar (darktable's NAME.EXT.xmp) comes before the Takeout JSON.
    @Test func xmpSidecar() throws {
        let folder = try TestEnvironment.makeTempDirectory("keepsake-xmp")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("scan.jpg")
        try Data([0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0, 10, 0, 20, 1, 1, 0x11, 0, 0xFF, 0xD9]).write(to: url)
        let xmp = """
        <x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description exif:DateTimeOriginal="2001-02-03T04:05:06+02:00"
          exif:GPSLatitude="48,51.5N" exif:GPSLongitude="2,21,0E" exif:GPSAltitude="355/10" exif:GPSAltitudeRef="0"/>
        </rdf:RDF></x:xmpmeta>
        """
        try Data(xmp.utf8).write(to: folder.appendingPathComponent("scan.jpg.xmp"))
        try Data(#"{"photoTakenTime":{"timestamp":"1577880000"}}"#.utf8).write(to: folder.appendingPathComponent("scan.jpg.json"))
        let metadata = try MetadataReader.read(fileAt: url.path, format: .jpeg)
        #expect(metadata.captureTime == CaptureTime(local: "2001-02-03T04:05:06", offsetSeconds: 7_200, source: .xmp))
        let location = try #require(metadata.location)
        #expect(abs(location.latitude - 48.858333) < 1e-5 && abs(location.longitude - 2.35) < 1e-5)
        #expect(location.altitude == 35.5 && location.source == .xmp)
    }

    @Test func takeoutSidecarNames() {
        let names = FileSurroundings.takeoutNames(for: "IMG_1234(1).jpg")
        #expect(names.contains("IMG_1234.jpg(1).json"))
        #expect(names.contains("IMG_1234(1).jpg.json"))
        let long = "PXL_20230416_120000000.PORTRAIT-01.COVER.jpg"
        #expect(FileSurroundings.takeoutNames(for: long).contains(String((long + ".supplemental-metadata").prefix(46)) + ".json"))
    }

    /// A Latin-1 name's sidecars are named with the same bytes, not with U+FFFD.
    @Test func takeoutSidecarNamesOfANameThatIsNotUTF8() {
        let cafe = Array("caf".utf8) + [0xE9]
        let names = FileSurroundings.takeoutNames(for: cafe + Array("(1).jpg".utf8))
        #expect(names.contains(cafe + Array(".jpg(1).json".utf8)))
        #expect(names.contains(cafe + Array("(1).jpg.json".utf8)))
        #expect(FileSurroundings.takeoutNames(for: Array("a.jpg".utf8)) == FileSurroundings.takeoutNames(for: "a.jpg").map { Array($0.utf8) })
    }

    /// An implausible EXIF date (here 1985, patched into a copy of a corpus file) gives way to the fallbacks.
    @Test(.needsCorpus) func implausibleExifDateFallsBack() throws {
        let corpus = try #require(TestEnvironment.corpus)
        let folder = try TestEnvironment.makeTempDirectory("keepsake-implausible")
        defer { try? FileManager.default.removeItem(at: folder) }
        var data = try Data(contentsOf: corpus.appendingPathComponent("osxphotos__Tulips.jpg"))
        let original = Data("2019:07:04 16:24:01".utf8)
        var patched = 0
        while let range = data.range(of: original) {
            data.replaceSubrange(range, with: Data("1985:07:04 16:24:01".utf8))
            patched += 1
        }
        #expect(patched > 0)
        let url = folder.appendingPathComponent("IMG_20190704_162401.jpg")
        try data.write(to: url)
        let metadata = try MetadataReader.read(fileAt: url.path, format: .jpeg)
        #expect(metadata.captureTime?.source == .filename)
        #expect(metadata.model == "X-T1")
    }
}

@Suite struct AVCHDTests {
    @Test func mdpmRecords() {
        // Count, then tag + 4 bytes: 0x18/0x19 date (zone byte 0x44: DST, +02:00), 0xe0 maker 0x0108, 0xe4… model.
        let records: [UInt8] = [5,
                                0x18, 0x44, 0x20, 0x19, 0x04,
                                0x19, 0x24, 0x22, 0x24, 0x00,
                                0xE0, 0x01, 0x08, 0x00, 0x00,
                                0xE4, 0x49, 0x4C, 0x43, 0x45,
                                0xE5, 0x2D, 0x37, 0x4D, 0x33]
        let parsed = AVCHDMetadata.parse(records, now: 1_800_000_000)
        #expect(parsed?.captureTime == CaptureTime(local: "2019-04-24T22:24:00", offsetSeconds: 7_200, source: .container))
        #expect(parsed?.make == "Sony")
        #expect(parsed?.model == "ILCE-7M3")
        #expect(AVCHDMetadata.parse([3, 0x18, 0x00], now: 1_800_000_000) == nil)
    }
}
