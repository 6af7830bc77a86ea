import Foundation
import Media
import MediaTypes
import Testing
import TestSupport

/// MetadataReader against exiftool/ffprobe (the corpus's expected.json), value by value.
@Suite struct MetadataCorpusTests {
    /// Disagreements with expected.json that are accepted, with the reason. Keyed by "file|field".
    static let acceptedDifferences: [String: String] = {
        let utc = "QuickTime creation_time is UTC by definition and libavformat says so (\"…Z\"), so we record "
            + "offset +00:00; exiftool prints CreateDate without a zone unless -api QuickTimeUTC "
            + "(with it: +00:00)"
        let flir = "exiftool takes this from FLIR's proprietary APP1 \"FFF\" record, not from EXIF"
        return [
            "androidx-media__h265_with_metadata_track.mp4|offset": utc,
            "androidx-media__portrait_4k60.mp4|offset": utc,
            "androidx-media__sample_mdat_too_long.mp4|offset": utc,
            "androidx-media__sample_sef_slow_motion.mp4|offset": utc,
            "metadata-extractor-images__ftyp3gp5.mp4|offset": utc,
            "osxphotos__fullsizeoutput_7.mov|offset": utc,
            "metadata-extractor-images__Sony ILCE-7M3 (A7M3).mts|make":
                "the AVCHD \"MDPM\" record names the maker by a code; expected.json has exiftool's number (264 = "
                + "0x0108), we its name, Sony",
            "metadata-extractor-images__FLIR iPhone device.jpg|captureTime": flir,
            "metadata-extractor-images__FLIR iPhone device.jpg|gps": flir,
            "exif-orientation-examples__Landscape_0.jpg|orientation":
                "the file's Orientation is 0, not a valid EXIF value (1…8): we report none",
            "metadata-extractor-images__Nikon D5000.jpg|orientation":
                "the only Orientation is in IFD1, the embedded thumbnail's; the main image has none",
            "exif-samples__HMD_Nokia_8.3_5G.heif|displaySize":
                "HEIF's irot (270°, exiftool: Rotation 270) decides the display size; expected.json turned the "
                + "stored size by the EXIF Orientation (1), which HEIF readers ignore",
            "metadata-extractor-images__FLIR Thermal.mp4|gps":
                "libavformat reads the ©xyz string, 4 decimals (+34.0754); exiftool a finer copy (34.07539), 11 m apart",
        ]
    }()

    struct Comparison: CustomStringConvertible {
        var file: String
        var field: String
        var expected: String
        var actual: String
        var agrees: Bool
        var key: String { "\(file)|\(field)" }
        var description: String { "\(file) \(field): expected \(expected), got \(actual)" }
    }

    @Test(.needsCorpus) func metadataAgreesWithExiftoolAndFFprobe() throws {
        let corpus = try #require(TestEnvironment.corpus)
        var comparisons: [Comparison] = []
        for expected in try ExpectedFile.load() where expected.kind == "image" || expected.kind == "video" {
            let path = corpus.appendingPathComponent(expected.file).path
            comparisons += Self.compare(expected, path: path)
        }
        let disagreements = comparisons.filter { !$0.agrees }
        let agreement = Double(comparisons.count - disagreements.count) / Double(max(1, comparisons.count))
        print("metadata agreement: \(comparisons.count - disagreements.count)/\(comparisons.count) values "
              + "(\(String(format: "%.1f", agreement * 100)) %)")
        for difference in disagreements {
            let reason = Self.acceptedDifferences[difference.key] ?? "NOT ACCEPTED"
            print("  differs: \(difference) — \(reason)")
        }
        #expect(agreement >= 0.98)
        let unexplained = disagreements.filter { Self.acceptedDifferences[$0.key] == nil }
        #expect(unexplained.isEmpty, "\(unexplained.count) differences not in acceptedDifferences (listed above)")
        let stale = Set(Self.acceptedDifferences.keys).subtracting(disagreements.map(\.key))
        #expect(stale.isEmpty, "accepted differences that no longer occur: \(stale.sorted())")
    }

    static func compare(_ expected: ExpectedFile, path: String) -> [Comparison] {
        var result: [Comparison] = []
        func add(_ field: String, _ expectedValue: String, _ actual: String, _ agrees: Bool) {
            result.append(Comparison(file: expected.file, field: field, expected: expectedValue, actual: actual, agrees: agrees))
        }
        let sniffed = sniffFile(path)
        let sniffedMime: String? = switch sniffed {
        case .media(let format): format.mimeType
        case .unsupported(let mime): mime
        case .empty: nil
        }
        add("mime", expected.mime ?? "-", sniffedMime ?? "-", sniffedMime == expected.mime)
        guard case .media(let format) = sniffed else { return result }

        let metadata: MediaMetadata?
        let failure: String?
        do {
            metadata = try MetadataReader.read(fileAt: path, format: format)
            failure = nil
        } catch {
            metadata = nil
            failure = "error: \(error)"
        }
        func actual(_ value: Any?) -> String { failure ?? value.map { "\($0)" } ?? "-" }

        // Capture time: expected.json has exiftool's DateTimeOriginal (EXIF, QuickTime, AVCHD). Our later sources
        // (XMP DateCreated, sidecar, name, mtime) stand for "none" here; CaptureTimeTests cover them.
        let time = metadata?.captureTime.flatMap { [.exif, .quicktime, .container].contains($0.source) ? $0 : nil }
        let expectedTime = expected.captureTime
        // exiftool's DateTimeOriginal leaves out SubSecTimeOriginal, which we add: compare what it shows.
        let shownLocal = time.map { expectedTime?.local.count == 19 ? String($0.local.prefix(19)) : $0.local }
        add("captureTime", expectedTime?.local ?? "-", actual(shownLocal), expectedTime?.local == shownLocal)
        if let expectedTime, let time, expectedTime.local == shownLocal {
            add("offset", expectedTime.offsetSeconds.map(String.init) ?? "-", actual(time.offsetSeconds),
                expectedTime.offsetSeconds == time.offsetSeconds)
        }
        let location = metadata?.location
        let gpsAgrees: Bool = switch (expected.gps, location) {
        case (nil, nil): true
        case let (expectedGPS?, location?):
            abs(expectedGPS.0 - location.latitude) < 1e-5 && abs(expectedGPS.1 - location.longitude) < 1e-5
        default: false
        }
        add("gps", expected.gps.map { "\($0.0),\($0.1)" } ?? "-",
            actual(location.map { "\($0.latitude),\($0.longitude)" }), gpsAgrees)
        add("make", expected.make ?? "-", actual(metadata?.make), expected.make == metadata?.make)
        add("model", expected.model ?? "-", actual(metadata?.model), expected.model == metadata?.model)
        let size = metadata.flatMap { m in m.width.flatMap { w in m.height.map { (w, $0) } } }
        add("displaySize", expected.displaySize.map { "\($0.0)x\($0.1)" } ?? "-", actual(size.map { "\($0.0)x\($0.1)" }),
            expected.displaySize?.0 == size?.0 && expected.displaySize?.1 == size?.1)
        if expected.kind == "image" {
            add("orientation", expected.orientation.map(String.init) ?? "-", actual(metadata?.orientation),
                expected.orientation == metadata?.orientation)
        } else {
            let duration = metadata?.durationSeconds
            let durationAgrees = switch (expected.durationSeconds, duration) {
            case (nil, nil): true
            case let (e?, d?): abs(e - d) <= 0.05
            default: false
            }
            add("duration", expected.durationSeconds.map { "\($0)" } ?? "-", actual(duration), durationAgrees)
            // expected.json has ffprobe's counter-clockwise angle; we record the clockwise turn (exiftool's Rotation).
            let expectedRotation = expected.counterClockwiseRotation.map { (360 - $0) % 360 }
            add("rotation", expectedRotation.map(String.init) ?? "-", actual(metadata?.rotation),
                expectedRotation == metadata?.rotation)
            add("videoCodec", expected.videoCodec ?? "-", actual(metadata?.videoCodec), expected.videoCodec == metadata?.videoCodec)
            add("audioCodec", expected.audioCodec ?? "-", actual(metadata?.audioCodec), expected.audioCodec == metadata?.audioCodec)
        }
        add("contentIdentifier", expected.contentIdentifier ?? "-", actual(metadata?.contentIdentifier),
            expected.contentIdentifier == metadata?.contentIdentifier)
        return result
    }
}
