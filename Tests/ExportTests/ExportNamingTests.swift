import FileSystem
import Foundation
import MediaTypes
import Testing
import TestSupport
@testable import Export

@Suite struct PortableNameTests {
    let ext4 = TargetFileSystem(name: "ext4", windowsRules: false, caseInsensitive: false)
    let vfat = TargetFileSystem.vfat

    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
    func fitted(_ name: [UInt8], _ target: TargetFileSystem, isFolder: Bool = false) -> PortableName.Fitted {
        PortableName.fitted(name, for: target, isFolder: isFolder, fallback: "unnamed")
    }

    /// Names that are not UTF-8 (`\xFF\xFE`, Latin-1 `café`), control characters and Windows' forbidden characters.
    var awkward: [[UInt8]] {
        [[0xFF, 0xFE] + bytes(".jpg"), bytes("caf") + [0xE9] + bytes(".jpg"), bytes("line\nbreak.jpg"), bytes("tab\there.jpg"),
         bytes("Trip: Tokyo?.jpg"), bytes("back\\slash.jpg"), bytes("trailing dot."), bytes("trailing space "),
         bytes("a*b\"c<d>e|f.png"), bytes("CON.jpg"), bytes(".hidden.jpg"), bytes("\u{7F}\u{85}.gif")]
    }

    @Test func onAPosixTargetEveryNameIsKeptByteForByte() {
        for name in awkward {
            #expect(fitted(name, ext4) == PortableName.Fitted(name: name), "\(BytePath.escaped(name))")
        }
    }

    @Test func onAPosixTargetOnlySlashNulAndNoNameAreChanged() {
        #expect(fitted(bytes("a/b.jpg"), ext4) == .init(name: bytes("a_b.jpg"), reasons: ["/ separates folders"]))
        #expect(fitted(bytes("a") + [0] + bytes("b"), ext4) == .init(name: bytes("a_b"), reasons: ["NUL ends a name"]))
        #expect(fitted(bytes(".."), ext4) == .init(name: bytes("unnamed"), reasons: [". and .. are not names"]))
        #expect(fitted([], ext4) == .init(name: bytes("unnamed"), reasons: ["no name"]))
        // A file that the next run would remove as an unfinished export's temporary file.
        #expect(fitted(bytes(".x.keepsake-partial"), ext4).name == bytes("_x.keepsake-partial"))
        // An album folder that would be hidden (and could be taken for the export's own `.keepsake-export.*`).
        #expect(fitted(bytes(".keepsake-export.log"), ext4, isFolder: true)
            == .init(name: bytes("_keepsake-export.log"), reasons: ["a folder whose name starts with a dot is hidden"]))
    }

    @Test func onAWindowsTargetEachRuleChangesTheNameAndSaysWhy() {
        let expected: [(String, String)] = [
            ("ÿþ.jpg", "not UTF-8, which vfat requires: read as Latin-1"),
            ("café.jpg", "not UTF-8, which vfat requires: read as Latin-1"),
            ("line_break.jpg", "control characters are not allowed on vfat"),
            ("tab_here.jpg", "control characters are not allowed on vfat"),
            ("Trip_ Tokyo_.jpg", ": is not allowed on vfat; ? is not allowed on vfat"),
            ("back_slash.jpg", "\\ is not allowed on vfat"),
            ("trailing dot", "a name cannot end in a dot or space on vfat"),
            ("trailing space", "a name cannot end in a dot or space on vfat"),
            ("a_b_c_d_e_f.png", "* is not allowed on vfat; \" is not allowed on vfat; < is not allowed on vfat; "
                + "> is not allowed on vfat; | is not allowed on vfat"),
            ("_CON.jpg", "CON is a device name on Windows"),
            (".hidden.jpg", ""),
            ("\u{7F}\u{85}.gif", ""),
        ]
        for (name, (written, why)) in zip(awkward, expected) {
            let result = fitted(name, vfat)
            #expect(result.name == bytes(written), "\(BytePath.escaped(name))")
            #expect(result.reasons.joined(separator: "; ") == why, "\(BytePath.escaped(name))")
        }
        #expect(fitted([0x85] + bytes("x"), vfat) == .init(name: bytes("_x"), reasons: ["not UTF-8, which vfat requires"]))
        #expect(fitted(bytes("lpt1 .tar.gz"), vfat).name == bytes("_lpt1 .tar.gz"))
        #expect(fitted(bytes("Console.jpg"), vfat).reasons.isEmpty)
        #expect(fitted(bytes(". . "), vfat).name == bytes("unnamed"))
    }

    @Test func longNamesAreCutOnACharacterBoundaryKeepingTheExtension() {
        // 300 bytes of two-byte characters, and of characters mixed with bytes that are not UTF-8.
        let accented = bytes(String(repeating: "é", count: 148) + ".JPG")
        let mixed = Array(repeating: bytes("€") + [0xE9], count: 74) + [bytes(".jpeg")]
        for (name, target) in [(accented, ext4), (accented, vfat), (mixed.flatMap { $0 }, ext4)] {
            #expect(name.count == 300 || name.count == 301)
            let result = fitted(name, target)
            #expect(result.name.count <= PortableName.maxBytes && result.name.count > PortableName.maxBytes - 4)
            #expect(result.reasons == ["longer than 250 bytes (\(name.count))"])
            let ext = name[name.lastIndex(of: UInt8(ascii: "."))!...]
            let stem = Array(result.name.dropLast(ext.count))
            #expect(result.name.suffix(ext.count).elementsEqual(ext) && name.starts(with: stem), "the start of the name and its extension")
            // The cut falls between characters: the kept stem is the name's first characters, whole.
            let units = Array(UTF8Units(stem))
            #expect(units.reduce(0) { $0 + $1.width } == stem.count)
            #expect(Array(UTF8Units(name).prefix(units.count)) == units)
        }
        #expect(PortableName.variant(of: fitted(accented, ext4).name, attempt: 12, isFolder: false).count <= PortableName.maxBytes)
    }

    @Test func clashesCompareBytesOrCaseInsensitivelyByTarget() {
        let taken = [bytes("img.jpg"), bytes("img(1).jpg")]
        #expect(PortableName.firstFree(bytes("IMG.JPG"), isFolder: false, on: vfat) {
            taken.map { PortableName.clashKey($0, on: vfat) }.contains(PortableName.clashKey($0, on: vfat))
        } == bytes("IMG(2).JPG"))
        #expect(PortableName.firstFree(bytes("IMG.JPG"), isFolder: false, on: ext4) { taken.contains($0) } == bytes("IMG.JPG"))
        #expect(PortableName.firstFree(bytes("img.jpg"), isFolder: false, on: ext4) { taken.contains($0) } == bytes("img(2).jpg"))
        #expect(PortableName.firstFree(bytes("My.Album"), isFolder: true, on: ext4) { $0 == bytes("My.Album") } == bytes("My.Album(1)"))
        #expect(PortableName.firstFree(bytes("metadata"), isFolder: true, on: ext4) { _ in false } == bytes("metadata(1)"))
        #expect(PortableName.firstFree(bytes("trash"), isFolder: true, on: vfat) { _ in false } == bytes("trash(1)"))
        #expect(PortableName.firstFree(bytes("trash"), isFolder: true, on: ext4) { _ in false } == bytes("trash"))
        // Bytes that are not UTF-8 are names of their own.
        #expect(PortableName.firstFree([0xE9], isFolder: false, on: ext4) { $0 == [0xE8] } == [0xE9])
    }

    @Test func namesArePrintedEscapedAndKeptInTheStateFileExactly() throws {
        let name = bytes("caf") + [0xE9] + bytes("\n\tx\\y\u{1}.jpg")
        #expect(BytePath.escaped(name) == "caf\\xE9\\n\\tx\\\\y\\x01.jpg")
        #expect(BytePath.escaped(bytes("Trip: Tokyo/ü.jpg")) == "Trip: Tokyo/ü.jpg")
        #expect(ExportRename(original: name, written: bytes("A/caf_.jpg"), why: ["one", "two"], isAlbum: false).description
            == "caf\\xE9\\n\\tx\\\\y\\x01.jpg → A/caf_.jpg (one; two)")
        let encoder = JSONEncoder()
        for path in [BytePath(bytes: bytes("A/") + name), BytePath("A/plain é.jpg")] {
            let data = try encoder.encode(path)
            #expect(try JSONDecoder().decode(BytePath.self, from: data) == path)
        }
        // Text as today's state files hold it; base64 only for what is not UTF-8.
        #expect(String(decoding: try encoder.encode(BytePath("A/b.jpg")), as: UTF8.self) == "\"A\\/b.jpg\"")
        #expect(String(decoding: try encoder.encode(BytePath(bytes: [0xFF])), as: UTF8.self) == "{\"base64\":\"\\/w==\"}")
        #expect(PortableName.title(bytes("caf") + [0xE9] + bytes(".jpg")) == "café.jpg")
        #expect(PortableName.title(bytes("a:b?.jpg")) == "a:b?.jpg")
    }
}

@Suite struct TargetFileSystemTests {
    @Test func theTypeComesFromTheMountAndAnUnknownOneIsTried() throws {
        let folder = try TestEnvironment.makeTempDirectory().path
        #expect(TargetFileSystem.mountType(of: "/proc/self") == "proc")
        let found = TargetFileSystem.of(folder)
        #expect(!found.windowsRules && !found.caseInsensitive, "\(found)")
        #expect(found.name == TargetFileSystem.mountType(of: folder))
        // Tried: this folder takes `:` and bytes that are not UTF-8, and tells `a` from `A`; the probes are gone.
        #expect(TargetFileSystem.probed(folder, type: "nfs4") == TargetFileSystem(name: "nfs4", windowsRules: false, caseInsensitive: false))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty)
        #expect(TargetFileSystem.probed(folder + "/missing", type: nil).windowsRules, "a folder that takes nothing gets the safe rules")
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
        var folder = ExportFolder(target: "/unused", state: ExportState(), fileSystem: .vfat)
        var renames: [String] = []
        for album in [nil, "Uncategorized", "A/B", "A_B", "a_b", "metadata", "Trash", "...", "Trip: Tokyo"] as [String?] {
            if let rename = folder.assignFolder(to: album)?.rename { renames.append(rename.description) }
        }
        #expect(folder.state.folders.map(\.folder.description) == [
            "Uncategorized", "Uncategorized(1)", "A_B", "A_B(1)", "a_b(2)", "metadata(1)", "Trash(1)", "Unnamed album", "Trip_ Tokyo",
        ])
        #expect(renames == [
            "album Uncategorized → Uncategorized(1) (another album's folder, or the export's own, has that name)",
            "album A/B → A_B (/ separates folders)",
            "album A_B → A_B(1) (another album's folder, or the export's own, has that name)",
            "album a_b → a_b(2) (another album's folder, or the export's own, has that name)",
            "album metadata → metadata(1) (another album's folder, or the export's own, has that name)",
            "album Trash → Trash(1) (another album's folder, or the export's own, has that name)",
            "album ... → Unnamed album (a name cannot end in a dot or space on vfat; nothing is left of the name)",
            "album Trip: Tokyo → Trip_ Tokyo (: is not allowed on vfat)",
        ])
        var later = ExportFolder(target: "/unused", state: ExportState(folders: [.init(album: "A_B", folder: BytePath("A_B"))]),
                                 fileSystem: .vfat)
        later.assignFolder(to: "A/B")
        later.assignFolder(to: "A_B")
        #expect(later.state.folders.map(\.folder) == [BytePath("A_B"), BytePath("A_B(1)")])
        // On ext4 an album's name is its folder's, but for `/`.
        var posix = ExportFolder(target: "/unused", state: ExportState(),
                                 fileSystem: TargetFileSystem(name: "ext4", windowsRules: false, caseInsensitive: false))
        for album in ["Trip: Tokyo/2024?", "a_b", "A_B", "end."] { posix.assignFolder(to: album) }
        #expect(posix.state.folders.map(\.folder.description) == ["Trip: Tokyo_2024?", "a_b", "A_B", "end."])
    }
}
