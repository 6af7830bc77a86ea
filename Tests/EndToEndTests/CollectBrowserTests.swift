import Foundation
import Testing
import TestSupport

/// Collect links (issue 18, docs/public-links.md "Collect links") end to end: Debian's chromium uploads two photos and
/// a video of more than 100 MB through `keepsake serve --links-only` (stopped in the middle of the video and started
/// again: the page resumes), a second browser uploads one more and sees only its own; then `keepsake sync` takes all
/// four into the album with thumbnails and a stream, `export` gives back the exact bytes, and neither the store nor
/// the server's output ever held a run of any file's plaintext (Tests/Browser/collect_browser.py).
@Suite(.serialized, .enabled(if: LinkBrowser.missing == nil, "\(LinkBrowser.missing ?? "")"))
struct CollectBrowserTests {
    static let album = "Wedding"

    @Test func guestsUploadThroughACollectLinkAndTheOwnersSyncTakesTheUploadsIn() throws {
        let root = try TestEnvironment.makeTempDirectory("collect-browser").path
        let library = root + "/lib", uploads = root + "/uploads"
        try FileManager.default.createDirectory(atPath: uploads, withIntermediateDirectories: true)
        let media = TestEnvironment.samples.appendingPathComponent("media")
        // The album already holds a photo, which no guest may see.
        try FileManager.default.createDirectory(atPath: root + "/album", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: media.appendingPathComponent("cameras/osxphotos__wedding.jpg").path, toPath: root + "/album/wedding.jpg")
        try LinkBrowser.keepsake(["ingest", root + "/album", "--library", library, "--album", Self.album])
        let photos = ["cameras/osxphotos__Tulips.jpg", "android/androidx-media__london.jpg", "cameras/osxphotos__Pumkins1.jpg"]
        let names = ["Tulpen im Garten.jpg", "london.jpg", "pumpkins from the second guest.jpg"]
        for (photo, name) in zip(photos, names) {
            try FileManager.default.copyItem(atPath: media.appendingPathComponent(photo).path, toPath: uploads + "/" + name)
        }
        // A video over 100 MB: three seconds of 720p noise, nearly lossless.
        let video = uploads + "/first dance.mp4"
        let made = try runProcess("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-t", "3",
                                             "-vf", "noise=alls=60:allf=t", "-c:v", "libx264", "-preset", "ultrafast", "-qp", "8",
                                             "-pix_fmt", "yuv420p", video])
        #expect(made.status == 0, "ffmpeg: \(made.stderrText)")
        let videoSize = try #require(try FileManager.default.attributesOfItem(atPath: video)[.size] as? Int)
        #expect(videoSize > 100_000_000)
        let link = try LinkBrowser.linkPath(LinkBrowser.keepsake(["share", "link", "create", Self.album, "--allow-upload", "--library", library]))

        let log = root + "/server.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let shots = try TestEnvironment.makeTempDirectory("collect-browser-shots").path
        print("screenshots: \(shots)")
        let config: [String: Any] = [
            "keepsake": Keepsake.binary, "library": library, "log": log, "link": link,
            "first": [uploads + "/" + names[0], uploads + "/" + names[1], video], "second": uploads + "/" + names[2],
        ]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: root + "/config.json"))
        let script = TestEnvironment.packageRoot.appendingPathComponent("Tests/Browser/collect_browser.py").path
        let result = try runProcess("python3", [script, root + "/config.json", shots])
        let lines = String(decoding: result.stdout, as: UTF8.self).split(separator: "\n")
        print(lines.joined(separator: "\n"))
        for check in ["upload-interrupt-resume", "second-uploader"] {
            #expect(lines.contains { $0 == "PASS \(check)" },
                    "\(lines.first { $0.hasPrefix("FAIL \(check)") } ?? "\(check): no result; \(result.stderrText.suffix(2000))")")
        }
        #expect(result.status == 0)

        let files = names.map { uploads + "/" + $0 } + [video]
        let needles = try files.map { try Self.needles(of: $0) }
        try Self.expectNoPlaintext(of: needles, under: library, log: log, files: files)
        let waiting = try LinkBrowser.keepsake(["share", "link", "ls", "--library", library, "--json"])
        #expect(waiting.contains(#""uploadsWaiting":4"#), "share link ls: \(waiting)")

        let synced = try Keepsake.run(["sync", "--library", library, "--json"], passphrase: LinkBrowser.passphrase)
        #expect(synced.status == 0, "sync: \(synced.stdoutText) \(synced.stderrText)")
        #expect(synced.stdoutText.contains(#""uploadsTaken":4"#), "sync: \(synced.stdoutText)")
        let listed = try LinkBrowser.keepsake(["ls", "--library", library, "--album", Self.album, "--json"])
            .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(listed.count == 5)
        for name in names + ["first dance.mp4"] {
            let item = listed.first { (($0["originals"] as? [[String: Any]]) ?? []).contains { $0["name"] as? String == name } }
            #expect(item != nil, "no item is named \(name)")
            #expect(item?["thumbnail"] as? Bool == true, "\(name) has no thumbnail")
            if name.hasSuffix(".mp4") { #expect(item?["stream"] as? Bool == true && item?["type"] as? String == "video") }
        }
        let leftOver = (try? FileManager.default.contentsOfDirectory(atPath: library + "/collect")) ?? []
        #expect(leftOver.isEmpty, "the decrypted uploads' folder was not emptied: \(leftOver)")
        let after = try LinkBrowser.keepsake(["share", "link", "ls", "--library", library, "--json"])
        #expect(after.contains(#""uploadsWaiting":0"#), "share link ls: \(after)")
        try Self.expectNoPlaintext(of: needles, under: library, log: log, files: files)

        // The exact bytes come back out.
        let exported = root + "/export"
        try LinkBrowser.keepsake(["export", "--library", library, "--album", Self.album, "--to", exported])
        var found: [String: String] = [:]
        for case let url as URL in FileManager.default.enumerator(at: URL(fileURLWithPath: exported), includingPropertiesForKeys: nil)! {
            found[url.lastPathComponent] = url.path
        }
        for file in files {
            let name = (file as NSString).lastPathComponent
            let path = try #require(found[name], "export has no \(name): \(found.keys.sorted())")
            #expect(FileManager.default.contentsEqual(atPath: path, andPath: file), "\(name) differs after export")
        }
        // Another sync takes nothing again.
        let again = try Keepsake.run(["sync", "--library", library, "--json"], passphrase: LinkBrowser.passphrase)
        #expect(again.stdoutText.contains(#""uploadsTaken":0"#), "second sync: \(again.stdoutText)")
    }

    /// Three runs of 48 bytes from each file (start, middle, end), distinctive enough to find nowhere else.
    static func needles(of path: String) throws -> [Data] {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        let size = try handle.seekToEnd()
        return try [size / 10, size / 2, size - 200].map { offset in
            try handle.seek(toOffset: offset)
            return try handle.read(upToCount: 48) ?? Data()
        }
    }

    /// No file under the library folder (the store: the server's disk) and not the server's output holds a needle.
    static func expectNoPlaintext(of needles: [[Data]], under folder: String, log: String, files: [String]) throws {
        var scanned = 0
        var paths = [log]
        for case let url as URL in FileManager.default.enumerator(at: URL(fileURLWithPath: folder), includingPropertiesForKeys: nil)! {
            paths.append(url.path)
        }
        for path in paths {
            guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else { continue }
            scanned += 1
            for (file, runs) in zip(files, needles) {
                for run in runs { #expect(data.range(of: run) == nil, "\(path) holds plaintext of \(file)") }
            }
        }
        #expect(scanned > 20)
    }
}
