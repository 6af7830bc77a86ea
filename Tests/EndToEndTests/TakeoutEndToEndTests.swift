import Foundation
import Testing
import TestSupport

/// `keepsake ingest takeout-001.zip takeout-002.zip` (issue 21, item 5): a Google Takeout export made in the test, in two
/// parts, read without unpacking: albums from the album folders, capture time, place and description from sidecars
/// (truncated names, one in the other part, an edited copy using its original's), a Live Photo pair, a ZIP64 member,
/// a damaged member failing alone, and `export` giving back the same files.
@Suite(.serialized) struct TakeoutEndToEndTests {
    let samples = TestEnvironment.samples.appendingPathComponent("media").path

    /// The Takeout parts, made by Python's zipfile (an independent ZIP writer).
    func makeTakeout(in root: URL) throws -> (parts: [String], png: String) {
        let png = root.appendingPathComponent("screenshot.png").path
        let made = try runProcess("/usr/bin/ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240", "-frames:v", "1", "-y", png])
        #expect(made.status == 0, "\(made.stderrText)")
        let script = #"""
            import json, sys, zipfile
            samples, png, root = sys.argv[1], sys.argv[2], sys.argv[3]
            base = "Takeout/Google Photos/"
            long = "Screenshot from a very long day at the seaside in summer.png"
            def sidecar(ts, lat, lon, desc=""):
                return json.dumps({"title": "t", "description": desc, "photoTakenTime": {"timestamp": str(ts)},
                                   "geoData": {"latitude": lat, "longitude": lon, "altitude": 12.0}})
            with zipfile.ZipFile(root + "/takeout-001.zip", "w", zipfile.ZIP_DEFLATED) as z:
                z.writestr(base + "Trip/metadata.json", json.dumps({"title": "Trip to Tokyo"}))
                z.write(samples + "/iphone/androidx-media__tokyo.jpg", base + "Trip/tokyo.jpg")
                z.writestr(base + "Trip/tokyo.jpg.supplemental-metadata.json", sidecar(1500000000, 35.6, 139.7, "Shibuya at night"))
                z.write(samples + "/cameras/osxphotos__Tulips.jpg", base + "Trip/tokyo-edited.jpg")
                z.write(samples + "/iphone/osxphotos__IMG_3582_edited.heic", base + "Trip/IMG_3582.HEIC")
                with z.open(base + "Trip/IMG_3582.MOV", "w", force_zip64=True) as member:
                    member.write(open(samples + "/iphone/osxphotos__IMG_3582_edited.mov", "rb").read())
                z.write(samples + "/cameras/osxphotos__wedding.jpg", base + "Wedding/wedding.jpg")
                z.write(samples + "/cameras/osxphotos__Pumkins1.jpg", base + "Trip/damaged.jpg")
                z.write(png, base + "Photos from 2019/" + long)
                with z.open(base + "Trip/big-notes.bin", "w", force_zip64=True) as member:
                    for _ in range(70):
                        member.write(bytes(1 << 20))
            with zipfile.ZipFile(root + "/takeout-002.zip", "w", zipfile.ZIP_DEFLATED) as z:
                # Google cuts a sidecar's name to 46 characters before ".json"; this one is in the other part.
                z.writestr(base + "Photos from 2019/" + (long + ".supplemental-metadata")[:46] + ".json", sidecar(1560000000, 51.5, -0.12))
                z.writestr(base + "Wedding/metadata.json", json.dumps({"title": "Wedding"}))
                z.writestr("Takeout/archive_browser.html", "<html></html>")
            # Damage the compressed bytes of one member (the CRC-32 and inflate notice it).
            data = bytearray(open(root + "/takeout-001.zip", "rb").read())
            info = zipfile.ZipFile(root + "/takeout-001.zip").getinfo(base + "Trip/damaged.jpg")
            start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
            for i in range(start + 2000, start + 2100):
                data[i] ^= 0x5A
            open(root + "/takeout-001.zip", "wb").write(bytes(data))
            """#
        let result = try runProcess("/usr/bin/python3", ["-c", script, samples, png, root.path])
        #expect(result.status == 0, "\(result.stderrText)")
        return ([root.appendingPathComponent("takeout-001.zip").path, root.appendingPathComponent("takeout-002.zip").path], png)
    }

    @Test func aSplitTakeoutIngestsWithItsAlbumsTimesPlacesAndExportsTheSameFiles() throws {
        let root = try TestEnvironment.makeTempDirectory("takeout")
        let (parts, png) = try makeTakeout(in: root)
        let library = root.appendingPathComponent("library").path
        let ingest = try Keepsake.run(["ingest", "--album-per-folder", "--json", "--library", library] + parts)
        // One member is damaged, one is not media: both fail alone, the rest is stored.
        #expect(ingest.status == 1, "\(ingest.stdoutText)\(ingest.stderrText)")
        let lines = ingest.stdoutText.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let failed = lines.filter { ["failed", "rejected"].contains($0["status"] as? String) }
        #expect(Set(failed.compactMap { ($0["path"] as? String).map { ($0 as NSString).lastPathComponent } }) == ["damaged.jpg", "big-notes.bin"],
                "\(failed)")
        #expect(failed.contains { ($0["reason"] as? String)?.contains("damaged") == true })

        let listing = try Keepsake.run(["ls", "--json", "--library", library])
        let items = listing.stdoutText.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        func item(_ name: String) -> [String: Any]? {
            items.first { (($0["originals"] as? [[String: Any]]) ?? []).contains { $0["name"] as? String == name } }
        }
        #expect(items.count == 5, "\(items)")
        let tokyo = try #require(item("tokyo.jpg"))
        #expect(tokyo["albums"] as? [String] == ["Trip to Tokyo"])
        #expect(tokyo["caption"] as? String == "Shibuya at night")
        #expect((tokyo["originals"] as? [[String: Any]])?.first?["path"] as? String
                == parts[0] + "/Takeout/Google Photos/Trip/tokyo.jpg")
        // The edited copy has no sidecar of its own: it takes its original's place (its EXIF has none).
        let edited = try #require(item("tokyo-edited.jpg"))
        #expect(edited["albums"] as? [String] == ["Trip to Tokyo"] && edited["latitude"] as? Double == 35.6)
        let live = try #require(item("IMG_3582.HEIC"))
        #expect(live["type"] as? String == "livePhoto" && (live["originals"] as? [[String: Any]])?.count == 2)
        #expect(try #require(item("wedding.jpg"))["albums"] as? [String] == ["Wedding"])
        // The screenshot has no time of its own: the sidecar in the other part gives it, and its place; a year folder is no album.
        let screenshot = try #require(item("Screenshot from a very long day at the seaside in summer.png"))
        #expect(screenshot["albums"] as? [String] == ["Uncategorized"])
        #expect(screenshot["captureTime"] as? String == "2019-06-08T13:20:00" && screenshot["timeSource"] as? String == "takeout-json")
        #expect(screenshot["latitude"] as? Double == 51.5)

        let out = root.appendingPathComponent("export").path
        let export = try Keepsake.run(["export", "--to", out, "--library", library])
        #expect(export.status == 0, "\(export.stdoutText)\(export.stderrText)")
        let expected: [(String, String)] = [
            ("Trip to Tokyo/tokyo.jpg", samples + "/iphone/androidx-media__tokyo.jpg"),
            ("Trip to Tokyo/tokyo-edited.jpg", samples + "/cameras/osxphotos__Tulips.jpg"),
            ("Trip to Tokyo/IMG_3582.HEIC", samples + "/iphone/osxphotos__IMG_3582_edited.heic"),
            ("Trip to Tokyo/IMG_3582.MOV", samples + "/iphone/osxphotos__IMG_3582_edited.mov"),
            ("Wedding/wedding.jpg", samples + "/cameras/osxphotos__wedding.jpg"),
            ("Uncategorized/Screenshot from a very long day at the seaside in summer.png", png),
        ]
        for (exported, source) in expected {
            let bytes = FileManager.default.contents(atPath: out + "/" + exported)
            #expect(bytes != nil && bytes == FileManager.default.contents(atPath: source), "\(exported)")
        }
        // Nothing was unpacked beside the archives or into the library folder.
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: root.path)) == ["screenshot.png", "takeout-001.zip", "takeout-002.zip", "library", "export"])

        // Again: every member is a duplicate, no object is written.
        let again = try Keepsake.run(["ingest", "--album-per-folder", "--json", "--library", library] + parts)
        let second = again.stdoutText.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(second.filter { $0["status"] as? String == "stored" }.isEmpty, "\(again.stdoutText)")
    }
}
