import Foundation
import MediaTypes
import Testing
@testable import Export

@Suite struct PortableNameTests {
    @Test func forbiddenAndControlCharactersBecomeUnderscores() {
        #expect(PortableName.sanitise("Trip: Tokyo/2024?", fallback: "x") == "Trip_ Tokyo_2024_")
        #expect(PortableName.sanitise("a\\b*c\"d<e>f|g", fallback: "x") == "a_b_c_d_e_f_g")
        #expect(PortableName.sanitise("tab\there\u{7F}\u{85}", fallback: "x") == "tab_here__")
    }

    @Test func edgesAreTrimmedAndNamesNeverHiddenOrEmpty() {
        #expect(PortableName.sanitise("  Summer. . ", fallback: "x") == "Summer")
        #expect(PortableName.sanitise(".hidden", fallback: "x") == "_hidden")
        #expect(PortableName.sanitise("...", fallback: "Unnamed album") == "Unnamed album")
        #expect(PortableName.sanitise("", fallback: "Unnamed album") == "Unnamed album")
        #expect(PortableName.sanitise("CON", fallback: "x") == "_CON")
        #expect(PortableName.sanitise("lpt1.jpg", fallback: "x") == "_lpt1.jpg")
        #expect(PortableName.sanitise("Console", fallback: "x") == "Console")
    }

    @Test func longNamesAreShortenedKeepingTheExtension() {
        let name = PortableName.sanitise(String(repeating: "é", count: 300) + ".JPG", fallback: "x")
        #expect(name.utf8.count <= PortableName.maxBytes)
        #expect(name.hasSuffix("é.JPG"))
    }

    @Test func clashesGetNumbersCaseInsensitivelyAndReservedNamesAreAvoided() {
        let taken: Set = ["img.jpg", "img(1).jpg"].map(PortableName.clashKey).reduce(into: Set<String>()) { $0.insert($1) }
        #expect(PortableName.firstFree("IMG.JPG", isFolder: false) { taken.contains(PortableName.clashKey($0)) } == "IMG(2).JPG")
        #expect(PortableName.firstFree("archive", isFolder: false) { _ in false } == "archive")
        #expect(PortableName.firstFree("My.Album", isFolder: true) { $0 == "My.Album" } == "My.Album(1)")
        #expect(PortableName.firstFree("metadata", isFolder: true) { _ in false } == "metadata(1)")
        #expect(PortableName.firstFree("trash", isFolder: true) { _ in false } == "trash(1)")
        // Composed and decomposed é are one name on APFS.
        #expect(PortableName.clashKey("Caf\u{E9}") == PortableName.clashKey("Cafe\u{301}"))
    }
}

@Suite struct TakeoutSidecarTests {
    @Test func captureTimesBecomeUnixSecondsWithTheirOffset() {
        let noon = CaptureTime(local: "2020-01-01T12:34:56", offsetSeconds: 3600, source: .exif)
        #expect(noon.instant == Instant(seconds: 1_577_878_496))
        let utc = CaptureTime(local: "2020-01-01T12:34:56.25", offsetSeconds: nil, source: .exif)
        #expect(utc.instant == Instant(seconds: 1_577_882_096, nanoseconds: 250_000_000))
        let west = CaptureTime(local: "2021-08-06T11:32:22", offsetSeconds: -7 * 3600, source: .exif)
        #expect(west.instant?.seconds == 1_628_274_742)
        #expect(CaptureTime(local: "2020:01:01 12:34:56", offsetSeconds: nil, source: .exif).instant == nil)
        #expect(CaptureTime(local: "2020-13-01T12:34:56", offsetSeconds: nil, source: .exif).instant == nil)
    }

    @Test func formattedLikeTakeoutInUTC() {
        #expect(TakeoutSidecar.formatted(1_577_882_096) == "Jan 1, 2020, 12:34:56 PM UTC")
        #expect(TakeoutSidecar.formatted(0) == "Jan 1, 1970, 12:00:00 AM UTC")
        #expect(TakeoutSidecar.formatted(-1) == "Dec 31, 1969, 11:59:59 PM UTC")
        #expect(TakeoutSidecar.formatted(951_782_400) == "Feb 29, 2000, 12:00:00 AM UTC")
        for days: Int64 in [-800_000, -1, 0, 11_016, 60_000, 2_000_000] {
            let (y, m, d) = CivilCalendar.date(days: Int(days))
            #expect(Int64(CivilCalendar.days(year: y, month: m, day: d)) == days)
        }
    }

    @Test func theJSONHasTakeoutsFieldsAndZerosForAnUnknownPlace() throws {
        let known = TakeoutSidecar(title: "IMG \"1\".jpg", photoTaken: Instant(seconds: 1_577_882_096), creation: Instant(seconds: 1_700_000_000),
                                   location: GeoLocation(latitude: 51.5334, longitude: -0.1255, altitude: nil, source: .exif))
        let object = try #require(try JSONSerialization.jsonObject(with: known.encoded()) as? [String: Any])
        #expect(object["title"] as? String == "IMG \"1\".jpg")
        #expect(object["description"] as? String == "")
        let taken = try #require(object["photoTakenTime"] as? [String: String])
        #expect(taken == ["timestamp": "1577882096", "formatted": "Jan 1, 2020, 12:34:56 PM UTC"])
        #expect((object["creationTime"] as? [String: String])?["timestamp"] == "1700000000")
        let geo = try #require(object["geoData"] as? [String: Double])
        #expect(geo["latitude"] == 51.5334 && geo["longitude"] == -0.1255 && geo["altitude"] == 0)
        #expect(object["people"] == nil)

        let unknown = TakeoutSidecar(title: "a.png", photoTaken: nil, creation: Instant(seconds: 0), location: nil)
        let text = String(decoding: unknown.encoded(), as: UTF8.self)
        #expect(text.contains("\"latitude\": 0.0") && text.contains("\"altitude\": 0.0"))
        #expect(!text.contains("photoTakenTime"))
    }
}

@Suite struct AlbumFolderTests {
    @Test func albumsWhoseFolderNamesClashGetNumbersAndKeepTheirFoldersOnLaterRuns() {
        var folder = ExportFolder(target: "/unused", state: ExportState())
        for album in [nil, "Uncategorized", "A/B", "A_B", "a_b", "metadata", "Trash", "..."] as [String?] {
            folder.assignFolder(to: album)
        }
        #expect(folder.state.folders.map(\.folder) == [
            "Uncategorized", "Uncategorized(1)", "A_B", "A_B(1)", "a_b(2)", "metadata(1)", "Trash(1)", "Unnamed album",
        ])
        var later = ExportFolder(target: "/unused", state: ExportState(folders: [.init(album: "A_B", folder: "A_B")]))
        later.assignFolder(to: "A/B")
        later.assignFolder(to: "A_B")
        #expect(later.state.folders.map(\.folder) == ["A_B", "A_B(1)"])
    }
}
